import ArgumentParser
import Foundation
import MoDE

struct EnsembleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ensemble",
        abstract: "Zero-shot evaluation of the MoDE ensemble of data experts, with routing, baselines and a report.",
        discussion: """
            Every task is encoded once by each expert of --experts (a manifest) and each --baseline \
            (one model in memory at a time). Variants: each expert alone, the uniform average, the \
            routed ensemble per --routing method (p(expert | task) from the task's class names, \
            or for retrieval its captions: the corpus for image→text, each query for text→image), \
            and each baseline alone. An ensemble sums the experts' cosine logits weighted by p.

            OUT gets a folder per VARIANT (expert-NAME, uniform, routed-METHOD, baseline-NAME) holding \
            clip_benchmark's result file of each task, {dataset}_{pretrained}_{model}_en_{task}.json \
            with its keys only: pretrained = the variant, model = the architecture of its members \
            (e.g. ViT-B-32; see `mode eval --help`); `clip_benchmark build OUT/*/` tabulates them. \
            Also summary.csv (task × variant, main metric), skipped.csv (skipped samples per task and \
            reason), routing.json (weights per task and method, nearest fine centres), report.md and \
            charts/*.svg. Main metric: acc1 for classification, the mean of image and text recall@1 \
            for retrieval.
            """)

    @Option(help: "Expert manifest (experts.json).") var experts: String
    @Option(help: "Folder of task folders, or one task folder.") var tasks: String
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Report folder.") var out: String
    @Option(name: .customLong("baseline"), help: "A single model to report beside the ensemble: [NAME=]PATH (file, checkpoint or run folder). Repeatable.")
    var baselines: [String] = []
    @Option(help: "Routing methods, comma-separated (\(RoutingMethod.allCases.map(\.rawValue).joined(separator: ", "))), or 'none'.")
    var routing = "paper,reference"
    @Option(help: "λ of the paper's routing.") var lambda = 0.2
    @Option(help: "Scale of the reference code's routing.") var referenceScale = 5.0
    @Option(help: "Softmax temperature of the reference code's routing.") var referenceTemperature = 8.0
    @Flag(help: "Route against unit-length fine centres (off: the centres as clustered).") var renormaliseCentres = false
    @Option(help: "Caption encoder folder for routing (default: the manifest's embedder).") var embedder: String?
    @Option(help: "Images or texts per forward pass.") var batch = 64
    @Option(help: "Threads (BLAS and parallel loops); default: MODE_THREADS or all available cores.") var threads: Int?

    func methods() throws -> [RoutingMethod] {
        let names = routing.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && $0 != "none" }
        var out: [RoutingMethod] = []
        for n in names {
            guard let m = RoutingMethod(rawValue: n) else {
                throw ValidationError("unknown routing method \(n); expected \(RoutingMethod.allCases.map(\.rawValue).joined(separator: ", ")) or none")
            }
            if !out.contains(m) { out.append(m) }
        }
        return out
    }

    func validate() throws {
        _ = try methods()
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
        guard lambda > 0 else { throw ValidationError("--lambda must be positive") }
    }

    /// NAME=PATH, or PATH named after its folder (a model file: the folder holding it).
    static func baseline(_ spec: String) -> EnsembleMember {
        if let eq = spec.firstIndex(of: "="), !spec[..<eq].contains("/") {
            return EnsembleMember(name: String(spec[..<eq]), role: .baseline, checkpoint: String(spec[spec.index(after: eq)...]))
        }
        var path = spec
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        var name = (path as NSString).lastPathComponent
        if name.hasSuffix(".safetensors") {
            let stem = (name as NSString).deletingPathExtension
            let parent = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
            name = ["model", CLIPModel.openCLIPModelFile.replacingOccurrences(of: ".safetensors", with: "")].contains(stem) && !parent.isEmpty ? parent : stem
        }
        return EnsembleMember(name: name, role: .baseline, checkpoint: spec)
    }

    func run() throws {
        if let threads { try BLAS.setThreads(threads) }
        let manifest = try ExpertManifest.load(experts)
        let (members, info) = Ensemble.members(of: manifest)
        let methods = try methods()
        var options = RoutingOptions()
        options.lambda = lambda
        options.referenceScale = referenceScale
        options.referenceTemperature = referenceTemperature
        options.renormaliseCentres = renormaliseCentres
        let routed = methods.filter { $0 != .uniform }
        var routers: [(method: String, router: Router)] = []
        for m in routed {
            var o = options
            o.method = m
            let r = try manifest.router(options: o)
            guard r.expertCount == members.count else {
                throw ValidationError("\(experts): the router has \(r.expertCount) experts, the manifest lists \(members.count)")
            }
            routers.append((m.rawValue, r))
        }
        var encoder: SentenceEncoder?
        if let first = routers.first?.router {
            let dir = embedder ?? manifest.embedder
            let e = try SentenceEncoder(directory: dir)
            guard e.dimension == first.dimension else {
                throw ValidationError("the embedder \(dir) gives \(e.dimension)-dimensional embeddings, the fine centres are \(first.dimension)-dimensional")
            }
            encoder = e
        }
        let list = try BenchmarkTask.discover(tasks, only: task)
        let tokenizer = try CLIPTokenizer()
        let baselineMembers = baselines.map(Self.baseline)
        var bar: ProgressBar?
        var current = ""
        let report = try Ensemble.evaluate(
            tasks: list, experts: members, baselines: baselineMembers, methods: methods.map(\.rawValue), tokenizer: tokenizer, batch: batch,
            expertInfo: info, routingSettings: Ensemble.settings(options),
            route: { data in
                guard let encoder else { return [] }
                let r = try Ensemble.routing(data, routers: routers, encoder: encoder, batch: batch)
                for x in r {
                    FileHandle.standardError.write(Data("  \(data.task) routing \(x.method): \(x.weights.map { String(format: "%.3f", $0) }.joined(separator: " "))\n".utf8))
                }
                return r
            },
            progress: { event in
                switch event {
                case .encoding(let t, let member, let i, let n, let done, let total):
                    let key = "\(t)/\(i)"
                    if key != current {
                        bar?.finish()
                        current = key
                        bar = ProgressBar("\(t) · \(member) (\(i + 1)/\(n))", total: total, unit: "img")
                    }
                    bar?.update(done)
                case .scored(let t, let results):
                    bar?.finish()
                    bar = nil
                    current = ""
                    let line = results.keys.sorted().compactMap { k in results[k].flatMap(Ensemble.mainMetric).map { "\(k) \(String(format: "%.1f", $0 * 100))" } }
                    FileHandle.standardError.write(Data("  \(t): \(line.joined(separator: ", "))\n".utf8))
                }
            })
        try report.write(to: out)
        print(report.textTable(), terminator: "")
        print("\nreport: \((out as NSString).appendingPathComponent("report.md"))")
    }
}
