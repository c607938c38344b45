import ArgumentParser
import MoDE
import Foundation

/// Sizes of one demo run.
struct DemoPlan: Codable {
    var pairs: Int
    var tasksPerClass: Int
    var fine: Int
    var coarse: Int
    var batch: Int
    var seedSteps: Int
    var expertSteps: Int
    var warmup: Int
    var lr: Double
    var config: String
    var oocRatio = 0.02

    /// Dense baseline: continues the seed for as many samples as the experts together.
    var denseSteps: Int { coarse * expertSteps }

    static let full = DemoPlan(pairs: 20_000, tasksPerClass: 50, fine: 256, coarse: 4, batch: 256,
                               seedSteps: 320, expertSteps: 80, warmup: 20, lr: 1e-3, config: "tiny")
    static let quick = DemoPlan(pairs: 4_000, tasksPerClass: 10, fine: 64, coarse: 4, batch: 128,
                                seedSteps: 60, expertSteps: 15, warmup: 5, lr: 1e-3, config: "tiny")
}

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

    func validate() throws {
        if let experts, experts < 1 || experts > 64 { throw ValidationError("--experts must lie in 1...64") }
        if let oocRatio, !(0...1).contains(oocRatio) { throw ValidationError("--ooc-ratio must lie in [0, 1]") }
    }

    func run() throws {
        var plan = quick ? DemoPlan.quick : DemoPlan.full
        if let experts { plan.coarse = experts }
        if let oocRatio { plan.oocRatio = oocRatio }
        let fm = FileManager.default
        let dir = (out as NSString).standardizingPath
        let steps = (dir as NSString).appendingPathComponent("steps")
        let logs = (dir as NSString).appendingPathComponent("logs")
        if force, fm.fileExists(atPath: dir) {
            for sub in ["corpus", "features", "clusters", "assign", "runs", "experts.json", "report", "steps", "logs", "demo.json"] {
                let p = (dir as NSString).appendingPathComponent(sub)
                if fm.fileExists(atPath: p) { try fm.removeItem(atPath: p) }
            }
        }
        try fm.createDirectory(atPath: steps, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let planFile = (dir as NSString).appendingPathComponent("demo.json")
        let planData = try JSONEncoder.sorted.encode(plan)
        if let old = fm.contents(atPath: planFile), old != planData {
            throw ValidationError("\(dir) holds a demo of another size (\(planFile)); use --force to start over or another --out")
        }
        try AtomicFile.write(planData, to: planFile)

        func path(_ p: String) -> String { (dir as NSString).appendingPathComponent(p) }
        let shards = path("corpus/train/{\(String(format: "%05d", 0))..\(String(format: "%05d", (plan.pairs + 999) / 1000 - 1))}.tar")
        let runner = DemoRunner(stepsDirectory: steps, logsDirectory: logs, threads: threads)
        let train = ["--config", plan.config, "--data", shards, "--batch", String(plan.batch), "--warmup", String(plan.warmup),
                     "--lr", String(plan.lr), "--save-every", "20", "--seed", "0"]
        let modelFlag = model.map { ["--model", $0] } ?? []
        let embedderFlag = model.map { ["--embedder", $0] } ?? []
        let start = Date()

        try runner.step("synth", outputs: [path("corpus")]) {
            ["synth", "--out", path("corpus"), "--pairs", String(plan.pairs), "--tasks-per-class", String(plan.tasksPerClass), "--force"]
        }
        try runner.step("embed", outputs: []) { ["embed", "--shards", shards, "--out", path("features")] + modelFlag }
        try runner.step("cluster", outputs: [path("clusters")]) {
            ["cluster", "--features", path("features"), "--fine", String(plan.fine), "--coarse", String(plan.coarse),
             "--sample", "1", "--out", path("clusters")]
        }
        try runner.step("assign", outputs: []) { ["assign", "--features", path("features"), "--clusters", path("clusters"), "--out", path("assign")] }
        try runner.training("seed", run: path("runs/seed"), train + ["--steps", String(plan.seedSteps)])
        for c in 0..<plan.coarse {
            try runner.training("expert-\(c)", run: path("runs/expert-\(c)"), train + [
                "--steps", String(plan.expertSteps), "--init", path("runs/seed"), "--expert", String(c),
                "--clusters", path("clusters"), "--assign", path("assign"), "--ooc-ratio", String(plan.oocRatio),
            ])
        }
        try runner.training("dense", run: path("runs/dense"), train + ["--steps", String(plan.denseSteps), "--init", path("runs/seed")])
        for c in 0..<plan.coarse {
            try runner.step("register-expert-\(c)", outputs: []) {
                ["experts", "add", "--manifest", path("experts.json"), "--run", path("runs/expert-\(c)"),
                 "--clusters", path("clusters"), "--expert", String(c), "--name", "expert-\(c)"] + embedderFlag
            }
        }
        try runner.step("ensemble", outputs: [path("report")]) {
            ["ensemble", "--experts", path("experts.json"), "--tasks", path("corpus/tasks"), "--out", path("report"),
             "--baseline", path("runs/dense"), "--baseline", path("runs/seed")]
        }
        let secs = Date().timeIntervalSince(start)
        // The results table and the comparison: report.md up to its routing-weights section.
        if let text = try? String(contentsOfFile: path("report/report.md"), encoding: .utf8) {
            let head = text.components(separatedBy: "\n## Routing weights")[0]
            let lines = head.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("![") }  // chart links
            print(lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines))
            print("")
        }
        print(String(format: "demo finished in %.0f s (this invocation); report: %@", secs, path("report/report.md")))
    }
}

/// Runs demo steps as child `mode` processes, skipping finished ones.
struct DemoRunner {
    let stepsDirectory: String
    let logsDirectory: String
    let threads: Int?

    func marker(_ name: String) -> String { (stepsDirectory as NSString).appendingPathComponent(name + ".json") }
    func isDone(_ name: String) -> Bool { FileManager.default.fileExists(atPath: marker(name)) }

    func markDone(_ name: String, seconds: Double, arguments: [String]) throws {
        let obj: [String: Any] = ["step": name, "seconds": (seconds * 10).rounded() / 10, "arguments": arguments]
        try AtomicFile.write(JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), to: marker(name))
    }

    /// Runs `arguments()` unless the step is done; `outputs` are removed first (a half-made
    /// output of an interrupted step is rebuilt).
    func step(_ name: String, outputs: [String], _ arguments: () -> [String]) throws {
        if isDone(name) {
            FileHandle.standardError.write(Data("== \(name): done before, skipped\n".utf8))
            return
        }
        let args = arguments()
        for o in outputs where FileManager.default.fileExists(atPath: o) { try FileManager.default.removeItem(atPath: o) }
        let secs = try launch(name, args)
        try markDone(name, seconds: secs, arguments: args)
    }

    /// A `mode train` step: resumes when the run folder already has a checkpoint.
    func training(_ name: String, run: String, _ arguments: [String]) throws {
        try step(name, outputs: []) {
            let started = FileManager.default.fileExists(atPath: (run as NSString).appendingPathComponent("params.json"))
            return ["train", "--out", run] + arguments + (started ? ["--resume"] : [])
        }
    }

    /// Runs `mode ARGS` with stdout to logs/NAME.log and stderr (progress) on the terminal.
    func launch(_ name: String, _ args: [String]) throws -> Double {
        FileHandle.standardError.write(Data("== \(name): mode \(args.joined(separator: " "))\n".utf8))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try selfExecutable())
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        if let threads { env["MODE_THREADS"] = String(threads) }
        p.environment = env
        let logPath = (logsDirectory as NSString).appendingPathComponent(name + ".log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        p.standardOutput = log
        p.standardError = FileHandle.standardError
        let t0 = Date()
        try p.run()
        p.waitUntilExit()
        guard p.terminationReason == .exit, p.terminationStatus == 0 else {
            throw DemoError.stepFailed(name, status: p.terminationStatus, log: logPath)
        }
        return Date().timeIntervalSince(t0)
    }

    func selfExecutable() throws -> String {
        if let p = Bundle.main.executablePath { return p }
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return link
    }
}

enum DemoError: Error, CustomStringConvertible {
    case stepFailed(String, status: Int32, log: String)
    var description: String {
        switch self {
        case let .stepFailed(name, status, log):
            "demo step '\(name)' failed (exit status \(status)); its output is in \(log); rerun `mode demo` to continue from there"
        }
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}
