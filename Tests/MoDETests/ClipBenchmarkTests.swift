import Foundation
import MoDEData
import MoDEModels
import MoDESynth
import MoDETokenizers
import Testing
import TestSupport
@testable import MoDE

/// clip_benchmark is not where the tests look for it.
struct ClipBenchmarkMissing: Error, CustomStringConvertible {
    let path: String
    var description: String {
        "clip_benchmark not found in \(path) (MODE_CLIP_BENCHMARK_DIR, or .deps/clip-benchmark in the package): run scripts/fetch_clip_benchmark.sh (or scripts/setup.sh) first"
    }
}

/// The folder clip_benchmark is installed in; throws (failing the test) when it is absent.
func clipBenchmarkDirectory() throws -> String {
    let env = ProcessInfo.processInfo.environment["MODE_CLIP_BENCHMARK_DIR"] ?? ""
    let dir = env.isEmpty ? packageRoot.appendingPathComponent(".deps/clip-benchmark").path : env
    guard FileManager.default.fileExists(atPath: dir + "/clip_benchmark/cli.py") else { throw ClipBenchmarkMissing(path: dir) }
    return dir
}

/// Rows of a CSV file as Python's csv module writes it (quoted fields, CRLF), keyed by the header.
func csvRows(_ text: String) -> [[String: String]] {
    var records: [[String]] = [], record: [String] = [], field = "", quoted = false
    let chars = Array(text)
    var i = 0
    while i < chars.count {
        let c = chars[i]
        i += 1
        if quoted {
            if c != "\"" { field.append(c) } else if i < chars.count && chars[i] == "\"" { field.append(c); i += 1 } else { quoted = false }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            record.append(field); field = ""
        } else if c == "\r\n" || c == "\n" {
            record.append(field); records.append(record); record = []; field = ""
        } else {
            field.append(c)
        }
    }
    if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
    guard let header = records.first else { return [] }
    return records.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
}

@Suite struct ClipBenchmarkTests {
    /// The text is what Python's json.dump writes for clip_benchmark's dict (written out by hand
    /// here): six keys in its order, one line, ASCII escapes, NaN as a bare token.
    @Test func resultFileIsJSONDumpText() throws {
        let r = TaskResult(dataset: "café \"x\"", model: "ViT-B-32", pretrained: "runs/a/", task: "zeroshot_classification",
                           metrics: ["mean_per_class_recall": 0.25, "acc5": .nan, "acc1": 0.1, "other": 1e-05],
                           samples: 7, skipped: ["undecodable_image": 2])
        let expected = #"{"dataset": "caf\u00e9 \"x\"", "model": "ViT-B-32", "pretrained": "runs/a/", "task": "zeroshot_classification", "#
            + #""metrics": {"acc1": 0.1, "acc5": NaN, "mean_per_class_recall": 0.25, "other": 1e-05}, "language": "en"}"#
        #expect(String(decoding: r.clipBenchmarkJSON(), as: UTF8.self) == expected)
        #expect(r.fileName == "café \"x\"_a_ViT-B-32_en_zeroshot_classification.json")
        let retrieval = TaskResult(dataset: "wds/flickr30k", model: "m", pretrained: "p", task: "zeroshot_retrieval",
                                   metrics: ["text_retrieval_recall@5": 1, "image_retrieval_recall@10": 0.5, "image_retrieval_recall@5": 0,
                                             "text_retrieval_recall@10": .infinity, "image_retrieval_recall@1": 0.75])
        #expect(String(decoding: retrieval.clipBenchmarkJSON(), as: UTF8.self).contains(
            #""metrics": {"image_retrieval_recall@1": 0.75, "image_retrieval_recall@5": 0.0, "text_retrieval_recall@5": 1.0, "image_retrieval_recall@10": 0.5, "text_retrieval_recall@10": Infinity}"#))
        #expect(retrieval.fileName == "wds_flickr30k_p_m_en_zeroshot_retrieval.json")
        // Outside the BMP: a surrogate pair, as Python writes it.
        #expect(TaskResult.pythonString("a😀\n\u{7f}") == #""a\ud83d\ude00\n\u007f""#)
    }

    @Test func readsClipBenchmarkFilesWithNaN() throws {
        let dir = try TempDirectory()
        let text = #"{"dataset": "cifar10", "model": "ViT-B-32", "pretrained": "laion2b_s34b_b79k", "task": "zeroshot_classification", "#
            + #""metrics": {"acc1": 0.5, "acc5": NaN, "mean_per_class_recall": 0.5}, "language": "en", "classnames": ["a"]}"#
        try text.write(toFile: dir.file("r.json"), atomically: true, encoding: .utf8)
        let r = try TaskResult.read(dir.file("r.json"))
        #expect(r.dataset == "cifar10" && r.pretrained == "laion2b_s34b_b79k" && r.metrics["acc1"] == 0.5 && r.metrics["acc5"]!.isNaN)
        #expect(String(decoding: r.clipBenchmarkJSON(), as: UTF8.self) == text.replacingOccurrences(of: #", "classnames": ["a"]"#, with: ""))
        try #"{"dataset": "x", "model": "m", "task": "t", "metrics": {}, "language": "en"}"#.write(toFile: dir.file("bad.json"), atomically: true, encoding: .utf8)
        let e = #expect(throws: DataError.self) { try TaskResult.read(dir.file("bad.json")) }
        #expect(e?.description.hasPrefix(dir.file("bad.json") + ": not a clip_benchmark result file") == true)
    }

    @Test func modelNamesArePresetNamesOrTheShape() throws {
        let b32 = try #require(CLIPConfig.presets["ViT-B-32"])
        #expect(Evaluation.modelName(b32) == "ViT-B-32")
        var quick = b32
        quick.quickGELU = true
        #expect(Evaluation.modelName(quick) == "ViT-B-32-quickgelu")
        // b16 and ViT-B-16 are the same shape: the name given wins, else open_clip's.
        let b16 = try #require(CLIPConfig.presets["b16"])
        #expect(Evaluation.modelName(b16, named: "b16") == "b16" && Evaluation.modelName(b16) == "ViT-B-16")
        let tiny = CLIPConfig(embedDim: 16, vision: .init(imageSize: 32, patchSize: 16, width: 16, layers: 1, headWidth: 8),
                              text: .init(contextLength: 16, width: 24, heads: 2, layers: 3))
        #expect(Evaluation.modelName(tiny, named: "my.json") == "ViT-p16-w16x1-i32-e16-t24x3")
    }

    @Test func skippedSamplesGoToTheirOwnCSV() {
        let csv = TaskResult.skippedCSV([("shapes", ["undecodable_image": 2, "bad_label": 1]), ("coco", [:]), ("a,b", ["x": 3])])
        #expect(csv == "dataset,reason,count\nshapes,bad_label,1\nshapes,undecodable_image,2\n\"a,b\",x,3\n")
    }

    /// clip_benchmark's own `build` (tools/clip_benchmark_build.py) over what `mode eval` (the
    /// executable) and an ensemble report write on the synthetic tasks: every file is read, the
    /// table has exactly clip_benchmark's columns, and the values are ours.
    @Test func clipBenchmarkBuildReadsOurFiles() throws {
        let package = try clipBenchmarkDirectory()
        #expect(FileManager.default.isExecutableFile(atPath: TrainProcessTests.modeBinary), "no mode binary at \(TrainProcessTests.modeBinary)")
        let dir = try TempDirectory()
        var cfg = SynthConfig()
        cfg.pairs = 20
        cfg.shardSize = 20
        cfg.tasksPerClass = 1
        cfg.domains = [.shapes, .digits]  // tasks of 10 (shapes, digits), 2 (domains) and 4 (mixed) classes, and retrieval
        cfg.weights = [1, 1]
        try SynthCorpus.generate(cfg, into: dir.file("corpus"))
        let tasks = try BenchmarkTask.discover(dir.file("corpus/tasks"))
        #expect(Set(tasks.map { $0.classnames.count }) == [0, 2, 4, 10])
        let a = try tinyMember(dir, "a", seed: 1), b = try tinyMember(dir, "b", seed: 2)
        let dense = try tinyMember(dir, "dense", seed: 3, dim: 8, role: .baseline)
        // tinyMember's shape, named as Evaluation.modelName documents
        let tinyName = "ViT-p16-w16x1-i32-e16-t16x1", denseName = "ViT-p16-w16x1-i32-e8-t16x1"

        let eval = Process()
        eval.executableURL = URL(fileURLWithPath: TrainProcessTests.modeBinary)
        eval.arguments = ["eval", "--checkpoint", a.checkpoint, "--tasks", dir.file("corpus/tasks"), "--out", dir.file("eval"),
                          "--batch", "8", "--threads", "1"]
        eval.standardOutput = FileHandle.nullDevice
        eval.standardError = FileHandle.nullDevice
        try eval.run()
        eval.waitUntilExit()
        #expect(eval.terminationStatus == 0)
        let evalFiles = try FileManager.default.contentsOfDirectory(atPath: dir.file("eval")).filter { $0.hasSuffix(".json") }
        #expect(Set(evalFiles) == Set(tasks.map { "\($0.name)_a_\(tinyName)_en_\($0.kind.rawValue).json" }))

        let report = try Ensemble.evaluate(tasks: tasks, experts: [a, b], baselines: [dense], methods: ["paper", "uniform"],
                                           tokenizer: try CLIPTokenizer(), batch: 8) { data in
            [TaskRouting(method: "paper", weights: [0.75, 0.25], perQuery: data.kind == .retrieval ? data.owner.map { _ in [0.5, 0.5] } : nil)]
        }
        try report.write(to: dir.file("ensemble"))
        let variants = ["expert-a", "expert-b", "uniform", "routed-paper", "baseline-dense"]
        #expect(report.variants.map(\.name) == variants)
        for v in variants {
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("ensemble/" + v))
            let model = v == "baseline-dense" ? denseName : tinyName
            #expect(Set(files) == Set(tasks.map { "\($0.name)_\(v)_\(model)_en_\($0.kind.rawValue).json" }), "\(v)")
        }

        func build(_ inputs: [String], _ csv: String) throws -> [[String: String]] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", packageRoot.appendingPathComponent("tools/clip_benchmark_build.py").path, "--package-dir", package,
                           "--check-text", "build"] + inputs + ["--output", csv]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "clip_benchmark build: \(message)")
            return csvRows(try String(contentsOfFile: csv, encoding: .utf8))
        }
        // clip_benchmark's columns: its five keys, the metrics, and the model_fullname it adds.
        let columns = Set(["dataset", "model", "pretrained", "task", "language", "model_fullname", "acc1", "acc5", "mean_per_class_recall"]
                          + [1, 5, 10].flatMap { ["image_retrieval_recall@\($0)", "text_retrieval_recall@\($0)"] })
        func check(_ rows: [[String: String]], results: (String, String) throws -> TaskResult) throws {
            for row in rows {
                #expect(Set(row.keys) == columns)
                let task = try #require(tasks.first { $0.name == row["dataset"] })
                let mine = try results(task.name, row["pretrained"]!)
                #expect(row["model"] == mine.model && row["model_fullname"] == mine.model + " " + mine.pretrained)
                #expect(row["task"] == task.kind.rawValue && row["language"] == "en")
                for k in columns where k.contains("acc") || k.contains("recall") {
                    let cell = row[k]!
                    if let v = mine.metrics[k] {
                        #expect(v.isNaN ? cell == "nan" : Double(cell) == v, "\(task.name) \(k): \(cell) vs \(v)")
                    } else {
                        #expect(cell.isEmpty)
                    }
                }
                #expect((row["acc5"] == "nan") == (task.kind == .classification && task.classnames.count < 5))
            }
        }
        let evalRows = try build([dir.file("eval")], dir.file("eval.csv"))
        #expect(evalRows.count == tasks.count)
        #expect(evalRows.allSatisfy { $0["model"] == tinyName && $0["pretrained"] == a.checkpoint })
        try check(evalRows) { task, _ in
            try TaskResult.read(dir.file("eval/\(task)_a_\(tinyName)_en_\(tasks.first { $0.name == task }!.kind.rawValue).json"))
        }
        let ensembleRows = try build(variants.map { dir.file("ensemble/" + $0) }, dir.file("ensemble.csv"))
        #expect(ensembleRows.count == tasks.count * variants.count)
        try check(ensembleRows) { task, variant in try #require(report.results[variant]?[task]) }
        #expect(ensembleRows.filter { $0["model"] == denseName }.allSatisfy { $0["pretrained"] == "baseline-dense" })
    }
}
