import Foundation
import MoDEFormats
import MoDEData
import MoDEModels
import MoDETokenizers

/// Everything `mode ensemble` asks for.
public struct EnsembleRequest: Sendable {
    /// The experts manifest (experts.json).
    public var manifest: String
    /// A folder of task folders, or one task folder.
    public var tasks: String
    /// Only this task.
    public var only: String?
    /// The report folder.
    public var out: String
    /// Single models reported beside the ensemble, as `[NAME=]PATH` (see `EnsembleRun.baseline`).
    public var baselines: [String] = []
    /// Routing methods to evaluate (`.uniform` is always reported as a variant).
    public var methods: [RoutingMethod] = [.paper, .reference]
    /// The routing constants (the method field is set per method).
    public var routing = RoutingOptions()
    /// The caption encoder for routing; nil = the manifest's.
    public var embedder: String?
    /// Images or texts per forward pass.
    public var batch = 64

    public init(manifest: String, tasks: String, out: String) {
        self.manifest = manifest
        self.tasks = tasks
        self.out = out
    }

    public func validate() throws {
        guard batch > 0 else { throw EnsembleError.invalid("--batch must be positive") }
        try routing.validate()
    }
}

/// What `mode ensemble` reports while it works.
public enum EnsembleEvent: Sendable {
    /// Encoding a task's images with one member (see `Ensemble.Progress`).
    case progress(Ensemble.Progress)
    /// The routing weights of a task for one method.
    case routed(task: String, method: String, weights: [Double])
}

/// `mode ensemble` as a library call.
public enum EnsembleRun {
    /// Evaluates the manifest's experts, their uniform and routed ensembles and the baselines on
    /// every task, writes the report into `request.out`, and returns it.
    @discardableResult
    public static func run(_ request: EnsembleRequest, events: (EnsembleEvent) -> Void = { _ in }) throws -> EnsembleReport {
        try withoutActuallyEscaping(events) { events in try run(request, escaping: events) }
    }

    private static func run(_ request: EnsembleRequest, escaping events: @escaping (EnsembleEvent) -> Void) throws -> EnsembleReport {
        try request.validate()
        let manifest = try ExpertManifest.load(request.manifest)
        let (members, info) = Ensemble.members(of: manifest)
        let routed = request.methods.filter { $0 != .uniform }
        var routers: [(method: String, router: Router)] = []
        for m in routed {
            var o = request.routing
            o.method = m
            let r = try manifest.router(options: o)
            guard r.expertCount == members.count else {
                throw EnsembleError.invalid("\(request.manifest): the router has \(r.expertCount) experts, the manifest lists \(members.count)")
            }
            routers.append((m.rawValue, r))
        }
        var encoder: SentenceEncoder?
        if let first = routers.first?.router {
            let dir = request.embedder ?? manifest.embedder
            let e = try SentenceEncoder(directory: dir)
            guard e.dimension == first.dimension else {
                throw EnsembleError.invalid("the embedder \(dir) gives \(e.dimension)-dimensional embeddings, the fine centres are \(first.dimension)-dimensional")
            }
            encoder = e
        }
        let report = try Ensemble.evaluate(
            tasks: try BenchmarkTask.discover(request.tasks, only: request.only), experts: members,
            baselines: request.baselines.map(baseline), methods: request.methods.map(\.rawValue), tokenizer: try CLIPTokenizer(),
            batch: request.batch, expertInfo: info, routingSettings: Ensemble.settings(request.routing),
            route: { data in
                guard let encoder else { return [] }
                let r = try Ensemble.routing(data, routers: routers, encoder: encoder, batch: request.batch)
                for x in r { events(.routed(task: data.task, method: x.method, weights: x.weights)) }
                return r
            },
            progress: { events(.progress($0)) })
        try report.write(to: request.out)
        return report
    }

    /// Routing methods from "paper,reference" (comma-separated, duplicates dropped) or "none".
    public static func methods(parsing text: String) throws -> [RoutingMethod] {
        var out: [RoutingMethod] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty && part != "none" {
            guard let m = RoutingMethod(rawValue: part) else {
                throw EnsembleError.invalid("unknown routing method \(part); expected \(RoutingMethod.allCases.map(\.rawValue).joined(separator: ", ")) or none")
            }
            if !out.contains(m) { out.append(m) }
        }
        return out
    }

    /// A baseline from `NAME=PATH`, or `PATH` named after its folder (a model file: the folder
    /// holding it, unless the file has a name of its own).
    public static func baseline(_ spec: String) -> EnsembleMember {
        if let eq = spec.firstIndex(of: "="), !spec[..<eq].contains("/") {
            return EnsembleMember(name: String(spec[..<eq]), role: .baseline, checkpoint: String(spec[spec.index(after: eq)...]))
        }
        var path = spec
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        var name = (path as NSString).lastPathComponent
        if name.hasSuffix(".safetensors") {
            let stem = (name as NSString).deletingPathExtension
            let parent = (FilePaths.parent(path) as NSString).lastPathComponent
            let generic = ["model", (CLIPModel.openCLIPModelFile as NSString).deletingPathExtension].contains(stem)
            name = generic && !parent.isEmpty ? parent : stem
        }
        return EnsembleMember(name: name, role: .baseline, checkpoint: spec)
    }

    /// "acc1 of each variant" for one task's results, for a progress line: "expert-0 61.3, uniform 64.0, …".
    public static func resultLine(_ results: [String: TaskResult]) -> String {
        results.keys.sorted().compactMap { k in results[k].flatMap(Ensemble.mainMetric).map { "\(k) \(String(format: "%.1f", $0 * 100))" } }
            .joined(separator: ", ")
    }
}
