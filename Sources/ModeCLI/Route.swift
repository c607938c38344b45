import ArgumentParser
import Foundation
import MoDE

struct Route: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how tasks are routed to the experts of a manifest (the ensemble weights).",
        discussion: """
            Each task's metadata is embedded with the manifest's caption encoder: a classification \
            task's class names (every template-filled prompt embedded, averaged, renormalised), a \
            retrieval task's captions (image→text routing uses all its texts). Every embedding l \
            finds its nearest fine centre s*(l) among ALL fine centres of the clusters file; a class \
            whose s*(l) no expert covers contributes to no expert. Methods:
              paper      p(c|T) ∝ exp(Σ_l A_l over classes whose s*(l) expert c covers), \
            A_l = exp(−‖e_l − e_s*‖² / λ); with |L| < 10 classes A is multiplied by exp(0.5 − √|L|), \
            with |L| > 200 λ is divided by ln|L|.
              reference  the reference code: w_c = Σ exp((a − d_l) · scale · log10(max(10, |L| − 200))), \
            d unsquared, a = exp(0.5 − √|L|) if |L| < 10 else 0; p = softmax(w / T).
              uniform    1 / experts.
            k-means centres are shorter than unit length, so distances from unit class embeddings \
            stay large and the paper's weights can come out near uniform (notably with |L| > 200); \
            tune --lambda or try --renormalise-centres and read the printed weights.
            """)

    @Option(help: "The experts manifest (experts.json).") var experts: String
    @Option(help: "Folder of task folders, or one task folder (clip_benchmark layout).") var tasks: String
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Routing method: \(RoutingMethod.allCases.map(\.rawValue).joined(separator: ", ")).") var routing = "paper"
    @Option(help: "The paper's λ.") var lambda = 0.2
    @Option(help: "Reference method: the scale in (a − d)·scale·log10(max(10, |L| − 200)).") var referenceScale = 5.0
    @Option(help: "Reference method: the softmax temperature T.") var referenceTemperature = 8.0
    @Flag(help: "Unit-normalise the fine centres before distances (not in the method; off by default).")
    var renormaliseCentres = false
    @Flag(help: "Print one JSON line per task on standard output (the table goes to standard error).") var json = false
    @Option(help: "Texts per encoder forward pass.") var batch = 64
    @Option(help: "Threads (BLAS and parallel loops); default: MODE_THREADS or all available cores.") var threads: Int?

    func validate() throws {
        guard RoutingMethod(rawValue: routing) != nil else {
            throw ValidationError("--routing must be one of \(RoutingMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        if let threads { try BLAS.setThreads(threads) }
        let manifest = try ExpertManifest.load(experts)
        var options = RoutingOptions(method: RoutingMethod(rawValue: routing)!)
        options.lambda = lambda
        options.referenceScale = referenceScale
        options.referenceTemperature = referenceTemperature
        options.renormaliseCentres = renormaliseCentres
        let router = try manifest.router(options: options)
        let encoder = try SentenceEncoder(directory: manifest.embedder)
        guard encoder.dimension == router.dimension else {
            throw ValidationError("the embedder \(manifest.embedder) gives \(encoder.dimension)-dimensional embeddings, the centres are \(router.dimension)-dimensional")
        }
        let names = manifest.experts.map(\.name)
        var rows = [["task", "kind", "|L|"] + names + ["uncovered"]]
        for t in try BenchmarkTask.discover(tasks, only: task) {
            let embeddings = try ClassEmbedding.taskMetadata(t, encoder: encoder, batch: batch)
            let d = try router.route(embeddings)
            let perExpert = (0..<names.count).map { e in d.expertOfClass.filter { $0 == e }.count }
            let uncovered = d.expertOfClass.filter { $0 < 0 }.count
            rows.append([t.name, t.kind == .classification ? "classification" : "retrieval", String(d.nearestFine.count)]
                        + d.weights.map { String(format: "%.4f", $0) } + [String(uncovered)])
            if json {
                let obj: [String: Any] = [
                    "task": t.name, "kind": t.kind.rawValue, "metadata": d.nearestFine.count, "method": options.method.rawValue,
                    "lambda": options.lambda, "reference_scale": options.referenceScale,
                    "reference_temperature": options.referenceTemperature, "renormalise_centres": options.renormaliseCentres,
                    "experts": names, "weights": d.weights, "nearest_expert_counts": perExpert, "uncovered": uncovered,
                ]
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            }
        }
        let table = formatTable(rows)
        if json { FileHandle.standardError.write(Data(table.utf8)) } else { print(table, terminator: "") }
    }
}
