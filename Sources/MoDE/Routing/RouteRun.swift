import Foundation
import MoDEData
import MoDEModels

/// How one task routes to the experts of a manifest (one line of `mode route --json`).
public struct TaskRoute: Codable, Sendable, Equatable {
    public var task: String
    public var kind: BenchmarkTask.Kind
    /// Routing embeddings: classes (classification) or captions (retrieval).
    public var metadata: Int
    public var method: RoutingMethod
    public var lambda: Double
    public var referenceScale: Double
    public var referenceTemperature: Double
    public var renormaliseCentres: Bool
    public var experts: [String]
    public var weights: [Double]
    /// Per expert: the embeddings whose nearest fine centre it covers (the first covering expert).
    public var nearestExpertCounts: [Int]
    /// Embeddings whose nearest fine centre no expert covers.
    public var uncovered: Int

    enum CodingKeys: String, CodingKey {
        case task, kind, metadata, method, lambda, referenceScale = "reference_scale"
        case referenceTemperature = "reference_temperature", renormaliseCentres = "renormalise_centres"
        case experts, weights, nearestExpertCounts = "nearest_expert_counts", uncovered
    }
}

/// `mode route` as a library call: each task's metadata embedded with the manifest's caption
/// encoder and routed (see `Router`).
public enum RouteRun {
    /// The routes of every task of `tasks` (a folder of task folders, or one; `only` picks one),
    /// in the folder's order; `progress` gets each as it is done.
    public static func run(manifest path: String, tasks: String, only: String? = nil, options: RoutingOptions, batch: Int = 64,
                           progress: (TaskRoute) -> Void = { _ in }) throws -> (experts: [String], routes: [TaskRoute]) {
        guard batch > 0 else { throw RoutingError.invalidOption("--batch must be positive") }
        let manifest = try ExpertManifest.load(path)
        let router = try manifest.router(options: options)
        let encoder = try SentenceEncoder(directory: manifest.embedder)
        guard encoder.dimension == router.dimension else {
            throw RoutingError.invalidOption("the embedder \(manifest.embedder) gives \(encoder.dimension)-dimensional embeddings, the centres are \(router.dimension)-dimensional")
        }
        let names = manifest.experts.map(\.name)
        var out: [TaskRoute] = []
        for t in try BenchmarkTask.discover(tasks, only: only) {
            let d = try router.route(ClassEmbedding.taskMetadata(t, encoder: encoder, batch: batch))
            let counts = (0..<names.count).map { e in d.expertOfClass.filter { $0 == e }.count }
            let r = TaskRoute(task: t.name, kind: t.kind, metadata: d.nearestFine.count, method: options.method, lambda: options.lambda,
                              referenceScale: options.referenceScale, referenceTemperature: options.referenceTemperature,
                              renormaliseCentres: options.renormaliseCentres, experts: names, weights: d.weights,
                              nearestExpertCounts: counts, uncovered: d.expertOfClass.filter { $0 < 0 }.count)
            progress(r)
            out.append(r)
        }
        return (names, out)
    }

    /// The routes as table rows: a header, then task, kind, |L|, one weight per expert, uncovered.
    public static func table(_ routes: [TaskRoute], experts: [String]) -> [[String]] {
        [["task", "kind", "|L|"] + experts + ["uncovered"]] + routes.map { r in
            [r.task, r.kind == .classification ? "classification" : "retrieval", String(r.metadata)] + r.weights.map { String(format: "%.4f", $0) } + [String(r.uncovered)]
        }
    }
}
