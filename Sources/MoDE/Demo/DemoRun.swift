import Foundation
import MoDEFormats

/// `mode demo`: the whole MoDE pipeline on the built-in synthetic corpus, each stage a child
/// `mode` process whose output lands in one folder, then the ensemble report.
public enum DemoRun {
    /// What the demo asks for.
    public struct Request: Sendable {
        public var out: String
        public var plan: DemoPlan
        /// Remove the folder's previous results first.
        public var force = false
        /// Threads for every step (MODE_THREADS of the children); nil = their default.
        public var threads: Int?
        /// Caption encoder directory; nil = the default one.
        public var model: String?
        /// The `mode` executable the steps run.
        public var executable: String

        public init(out: String, plan: DemoPlan, executable: String) {
            self.out = out
            self.plan = plan
            self.executable = executable
        }
    }

    /// What the demo reports while it works.
    public enum Event: Sendable {
        /// A step begins: its name and the `mode` arguments.
        case starting(String, arguments: [String])
        /// A step finished in an earlier run is skipped.
        case skipped(String)
    }

    /// The result: the report's summary (its results table and comparison), and the time taken.
    public struct Result: Sendable {
        public var summary: String
        public var report: String
        public var seconds: Double
    }

    /// Runs the steps not finished yet (DIR/steps/NAME.json marks them) as child processes whose
    /// standard output goes to DIR/logs/NAME.log and standard error to `childErrors`; an
    /// interrupted training step resumes from its checkpoint.
    public static func run(_ request: Request, childErrors: FileHandle? = nil, events: (Event) -> Void = { _ in }) throws -> Result {
        try withoutActuallyEscaping(events) { events in try run(request, childErrors: childErrors, escaping: events) }
    }

    private static func run(_ request: Request, childErrors: FileHandle?, escaping events: @escaping (Event) -> Void) throws -> Result {
        let plan = request.plan
        try plan.validate()
        let fm = FileManager.default
        let dir = (request.out as NSString).standardizingPath
        func path(_ p: String) -> String { (dir as NSString).appendingPathComponent(p) }
        if request.force, fm.fileExists(atPath: dir) {
            for sub in ["corpus", "features", "clusters", "assign", "runs", "experts.json", "report", "steps", "logs", "demo.json"]
            where fm.fileExists(atPath: path(sub)) {
                try fm.removeItem(atPath: path(sub))
            }
        }
        try fm.createDirectory(atPath: path("steps"), withIntermediateDirectories: true)
        try fm.createDirectory(atPath: path("logs"), withIntermediateDirectories: true)
        if fm.fileExists(atPath: path("demo.json")) {
            let old = try? JSONFile.read(DemoPlan.self, from: path("demo.json"))
            guard old == plan else {
                throw DemoError.invalid("\(dir) holds a demo of another size (\(path("demo.json"))); use --force to start over or another --out")
            }
        }
        try JSONFile.write(plan, to: path("demo.json"))

        let shards = path("corpus/train/{\(String(format: "%05d", 0))..\(String(format: "%05d", (plan.pairs + 999) / 1000 - 1))}.tar")
        let runner = Runner(steps: path("steps"), logs: path("logs"), threads: request.threads, executable: request.executable,
                            childErrors: childErrors, events: events)
        let train = ["--config", plan.config, "--data", shards, "--batch", String(plan.batch), "--warmup", String(plan.warmup),
                     "--lr", String(plan.lr), "--save-every", "20", "--seed", "0"]
        let modelFlag = request.model.map { ["--model", $0] } ?? []
        let embedderFlag = request.model.map { ["--embedder", $0] } ?? []
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
        let report = path("report/report.md")
        return Result(summary: summary(ofReport: report), report: report, seconds: Date().timeIntervalSince(start))
    }

    /// The results table and the comparison of an ensemble report: report.md up to its routing
    /// weights, without chart links.
    public static func summary(ofReport path: String) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        let head = text.components(separatedBy: "\n## Routing weights")[0]
        let lines = head.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("![") }
        return lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs demo steps as child `mode` processes, skipping finished ones.
    struct Runner {
        let steps: String
        let logs: String
        let threads: Int?
        let executable: String
        let childErrors: FileHandle?
        let events: (Event) -> Void

        func marker(_ name: String) -> String { (steps as NSString).appendingPathComponent(name + ".json") }

        /// Runs `arguments()` unless the step is done; `outputs` are removed first (a half-made
        /// output of an interrupted step is rebuilt).
        func step(_ name: String, outputs: [String], _ arguments: () -> [String]) throws {
            if (try? JSONFile.read(DemoStepRecord.self, from: marker(name))) != nil {
                events(.skipped(name))
                return
            }
            let args = arguments()
            for o in outputs where FileManager.default.fileExists(atPath: o) { try FileManager.default.removeItem(atPath: o) }
            let secs = try launch(name, args)
            try JSONFile.write(DemoStepRecord(step: name, seconds: (secs * 10).rounded() / 10, arguments: args), to: marker(name))
        }

        /// A `mode train` step: resumes when the run folder already has a run.
        func training(_ name: String, run: String, _ arguments: [String]) throws {
            try step(name, outputs: []) {
                let started = FileManager.default.fileExists(atPath: RunFolder(run).parameters)
                return ["train", "--out", run] + arguments + (started ? ["--resume"] : [])
            }
        }

        /// Runs `mode ARGS` with stdout to logs/NAME.log and stderr to `childErrors`.
        func launch(_ name: String, _ args: [String]) throws -> Double {
            events(.starting(name, arguments: args))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = args
            var env = ProcessInfo.processInfo.environment
            if let threads { env["MODE_THREADS"] = String(threads) }
            p.environment = env
            let logPath = (logs as NSString).appendingPathComponent(name + ".log")
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            defer { try? log.close() }
            p.standardOutput = log
            p.standardError = childErrors ?? FileHandle.nullDevice
            let t0 = Date()
            try p.run()
            p.waitUntilExit()
            guard p.terminationReason == .exit, p.terminationStatus == 0 else {
                throw DemoError.stepFailed(name, status: p.terminationStatus, log: logPath)
            }
            return Date().timeIntervalSince(t0)
        }
    }
}
