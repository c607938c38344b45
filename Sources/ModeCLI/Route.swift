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
    @Option(help: "Routing method: \(RoutingMethod.allCases.map(\.rawValue).joined(separator: ", ")).") var routing = RoutingMethod.paper
    @OptionGroup(title: "Routing") var routingParameters: RoutingParameters
    @Flag(help: "Print one JSON line per task on standard output (the table goes to standard error).") var json = false
    @Option(help: "Texts per encoder forward pass.") var batch = 64
    @OptionGroup(title: "Compute") var compute: ComputeOptions

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        try compute.apply()
        let (names, routes) = try RouteRun.run(manifest: experts, tasks: tasks, only: task, options: routingParameters.options(routing), batch: batch) { r in
            if json { try? printJSONLine(r) }
        }
        let table = TextTable.format(RouteRun.table(routes, experts: names))
        if json { FileHandle.standardError.write(Data(table.utf8)) } else { print(table, terminator: "") }
    }
}
