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
    @OptionGroup(title: "Routing") var routingParameters: RoutingParameters
    @Option(help: "Caption encoder folder for routing (default: the manifest's embedder).") var embedder: String?
    @Option(help: "Images or texts per forward pass.") var batch = EnsembleRequest(manifest: "", tasks: "", out: "").batch
    @OptionGroup(title: "Compute") var compute: ComputeOptions

    func request() throws -> EnsembleRequest {
        var r = EnsembleRequest(manifest: experts, tasks: tasks, out: out)
        r.only = task
        r.baselines = baselines
        r.methods = try EnsembleRun.methods(parsing: routing)
        r.routing = routingParameters.options(.paper)
        r.embedder = embedder
        r.batch = batch
        return r
    }

    func validate() throws {
        do { try request().validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        try compute.apply()
        var bar: ProgressBar?
        var current = ""
        let report = try EnsembleRun.run(try request()) { event in
            switch event {
            case .progress(.encoding(let t, let member, let i, let n, let done, let total)):
                if "\(t)/\(i)" != current {
                    bar?.finish()
                    current = "\(t)/\(i)"
                    bar = ProgressBar("\(t) · \(member) (\(i + 1)/\(n))", total: total, unit: "img")
                }
                bar?.update(done)
            case .progress(.scored(let t, let results)):
                bar?.finish()
                bar = nil
                current = ""
                printError("  \(t): " + EnsembleRun.resultLine(results))
            case .routed(let t, let method, let weights):
                printError("  \(t) routing \(method): " + weights.map { String(format: "%.3f", $0) }.joined(separator: " "))
            }
        }
        print(report.textTable(), terminator: "")
        print("\nreport: \((out as NSString).appendingPathComponent("report.md"))")
    }
}
