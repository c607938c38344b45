import ArgumentParser
import Foundation
import MoDE

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole MoDE pipeline on the built-in synthetic corpus, end to end, with a report.",
        discussion: """
            Steps, each a separate `mode` process whose output lands in DIR: synth (corpus with 5 \
            domains and 8 zero-shot tasks) → embed (captions, all-MiniLM-L6-v2) → cluster (fine \
            centres, 4 coarse clusters = experts) → assign → train the seed CLIP on all data → train \
            one expert per coarse cluster from the seed (its pairs + 2% out of cluster) → train the \
            dense baseline: the seed continued on all data for as many samples as the experts \
            together (equal compute) → register the experts (experts.json) → ensemble evaluation \
            (each expert, uniform, routed by paper and reference rules, dense and seed baselines) → \
            DIR/report/report.md.

            Rerunnable: finished steps are skipped (DIR/steps/NAME.json marks them); an interrupted \
            training step resumes from its last checkpoint. --force starts over. Full size takes \
            about 9–10 minutes on 2 cores (9 min 23 s measured); --quick about 2.
            """)

    @Option(help: "Output folder.") var out = "mode-demo"
    @Flag(help: "A small, fast version (4k pairs, short training) to see every step work.") var quick = false
    @Flag(help: "Remove DIR's previous results and run every step again.") var force = false
    @Option(help: "Threads for every step; default: MODE_THREADS or all available cores.") var threads: Int?
    @Option(help: "Caption encoder directory (default: the MiniLM the setup fetched).") var model: String?
    @Option(help: "Number of data experts (coarse clusters); the dense baseline's length follows.") var experts: Int?
    @Option(help: "Out-of-cluster fraction mixed into each expert's stream (MoDE's reference code: 0.02).") var oocRatio: Double?

    func plan() -> DemoPlan {
        var plan = quick ? DemoPlan.quick : DemoPlan.full
        if let experts { plan.coarse = experts }
        if let oocRatio { plan.oocRatio = oocRatio }
        return plan
    }

    func validate() throws {
        do { try plan().validate() } catch { throw ValidationError("\(error)") }
        try ComputeSettings(threads: threads).validate()
    }

    func run() throws {
        var request = DemoRun.Request(out: out, plan: plan(), executable: try Self.executable())
        request.force = force
        request.threads = threads
        request.model = model
        let result = try DemoRun.run(request, childErrors: .standardError) { event in
            switch event {
            case let .starting(name, args): printError("== \(name): mode \(args.joined(separator: " "))")
            case .skipped(let name): printError("== \(name): done before, skipped")
            }
        }
        if !result.summary.isEmpty { print(result.summary + "\n") }
        print(String(format: "demo finished in %.0f s (this invocation); report: %@", result.seconds, result.report))
    }

    /// This `mode` executable's path.
    static func executable() throws -> String {
        if let p = Bundle.main.executablePath { return p }
        return try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }
}
