import MoDEData
import MoDESynth
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MoDEModels
import MoDETensor
import Testing
import TestSupport
import MoDETokenizers
@testable import MoDE

/// A tiny random CLIP (embedding width `dim`) saved in open_clip's hub layout under `dir/name`.
func tinyMember(_ dir: TempDirectory, _ name: String, seed: UInt64, dim: Int = 16, role: EnsembleMember.Role = .expert) throws -> EnsembleMember {
    let cfg = CLIPConfig(embedDim: dim, vision: .init(imageSize: 32, patchSize: 16, width: 16, layers: 1, headWidth: 8),
                         text: .init(contextLength: 16, width: 16, heads: 2, layers: 1))
    try CLIPModel(config: cfg, seed: seed).saveOpenCLIPFolder(dir.file(name))
    return EnsembleMember(name: name, role: role, checkpoint: dir.file(name))
}

/// The synthetic corpus's zero-shot tasks (classification and retrieval), tiny.
func synthTasks(_ dir: TempDirectory) throws -> [BenchmarkTask] {
    var cfg = SynthConfig()
    cfg.pairs = 50
    cfg.shardSize = 50
    cfg.tasksPerClass = 2
    try SynthCorpus.generate(cfg, into: dir.file("corpus"))
    return try BenchmarkTask.discover(dir.file("corpus/tasks"))
}

/// Task data from hand-written features (rows are normalised here).
func handData(kind: BenchmarkTask.Kind, images: [[Float]], texts: [[Float]], dim: Int, imageCount: Int,
              labels: [Int] = [], owner: [Int] = [], classes: Int = 0) -> EnsembleTaskData {
    func tensor(_ v: [Float]) -> Tensor {
        let rows = v.count / dim
        let t = Tensor(shape: [rows, dim])
        for r in 0..<rows {
            let row = v[(r * dim)..<(r * dim + dim)]
            let n = (row.reduce(0) { $0 + $1 * $1 }).squareRoot()
            for j in 0..<dim { t.data[r * dim + j] = row[r * dim + j] / n }
        }
        return t
    }
    let members = zip(images, texts).enumerated().map { i, p in MemberFeatures(member: "m\(i)", images: tensor(p.0), texts: tensor(p.1)) }
    return EnsembleTaskData(task: "hand", kind: kind, classNames: (0..<classes).map { "c\($0)" }, templates: ["{c}"], labels: labels,
                            captions: owner.map { "caption \($0)" }, owner: owner, imageCount: imageCount, members: members)
}

@Suite struct EnsembleTests {
    @Test func oneExpertWithWeightOneEqualsItsOwnEvaluation() throws {
        let dir = try TempDirectory()
        let tasks = try synthTasks(dir)
        #expect(tasks.contains { $0.kind == .retrieval } && tasks.contains { $0.kind == .classification })
        let a = try tinyMember(dir, "a", seed: 1), b = try tinyMember(dir, "b", seed: 2)
        let tokenizer = try CLIPTokenizer()
        for task in tasks {
            let data = try Ensemble.taskData(task: task, members: [a, b], tokenizer: tokenizer, batch: 8)
            #expect(data.members.count == 2 && data.imageCount > 0)
            for (i, m) in [a, b].enumerated() {
                let alone = try Evaluation.evaluate(model: CheckpointStore.loadModel(m.checkpoint, config: nil), tokenizer: tokenizer,
                                                    task: task, modelName: m.name, pretrained: m.checkpoint, batch: 8)
                // Exact: weight 1 scales by 1 and the other member (weight 0) is skipped, so the
                // scores are the same products as the single-model evaluation's.
                #expect(EnsembleScoring.metrics(data, .single(i, of: 2)) == alone.metrics, "\(task.name), expert \(m.name)")
                var one = data
                one.members = [data.members[i]]
                #expect(EnsembleScoring.metrics(one, MemberWeights(weights: [1])) == alone.metrics)
                #expect(alone.samples == data.imageCount)
            }
        }
    }

    @Test func classificationLogitsAreTheWeightedSumOfCosineLogits() {
        // Two members, 2-D features, 2 images, 3 classes (rows already unit length).
        let data = handData(kind: .classification,
                            images: [[1, 0, 0, 1], [0.6, 0.8, 0.8, 0.6]],
                            texts: [[1, 0, 0, 1, 0.6, 0.8], [0, 1, 1, 0, 0.8, 0.6]],
                            dim: 2, imageCount: 2, labels: [0, 2], classes: 3)
        let w = [0.25, 0.75]
        let logits = EnsembleScoring.classificationLogits(data, weights: w)
        // member 0: image 0 · classes = (1, 0, 0.6), image 1 = (0, 1, 0.8)
        // member 1: image 0 = (0.6·0 + 0.8·1, 0.6, 0.6·0.8 + 0.8·0.6) = (0.8, 0.6, 0.96); image 1 = (0.6, 0.8, 0.8·0.8 + 0.6·0.6) = (0.6, 0.8, 1)
        let expected: [Double] = [0.25 * 1 + 0.75 * 0.8, 0.25 * 0 + 0.75 * 0.6, 0.25 * 0.6 + 0.75 * 0.96,
                                  0.25 * 0 + 0.75 * 0.6, 0.25 * 1 + 0.75 * 0.8, 0.25 * 0.8 + 0.75 * 1].map { $0 * 100 }
        for (i, e) in expected.enumerated() {
            // float32 products of 2-vectors scaled by 100: well within 1e-4 relative
            #expect(abs(Double(logits.data[i]) - e) <= 1e-4 * 100, "logit \(i): \(logits.data[i]) vs \(e)")
        }
        // Image 0 scores (85, 45, 87): class 2, label 0, wrong; image 1 (45, 85, 95): class 2, right.
        let m = EnsembleScoring.metrics(data, MemberWeights(weights: w))
        let acc1 = 0.5
        #expect(m["acc1"] == acc1 && m["acc5"]!.isNaN)  // 3 classes: acc5 undefined, as clip_benchmark reports it
    }

    @Test func textToImageUsesEachQuerysOwnWeights() {
        // Member 0 finds image 0 for text 0 but not image 1 for text 1; member 1 the opposite.
        let data = handData(kind: .retrieval,
                            images: [[1, 0, 0, 1], [1, 0, 0, 1]],
                            texts: [[1, 0.1, 1, 0.2], [0.2, 1, 0.1, 1]],
                            dim: 2, imageCount: 2, owner: [0, 1])
        // Fix member 0's text 1 and member 1's text 0 to point at the wrong image.
        data.members[0].texts.data[2] = 1; data.members[0].texts.data[3] = 0
        data.members[1].texts.data[0] = 0; data.members[1].texts.data[1] = 1
        let routed = MemberWeights(weights: [0.5, 0.5], perQuery: [[1, 0], [0, 1]])
        let scores = EnsembleScoring.retrievalScores(data, weights: routed.weights, perQuery: routed.perQuery)
        // Row t = member (t)'s similarities of text t to both images.
        for t in 0..<2 {
            for i in 0..<2 {
                let m = data.members[t]
                var dot: Float = 0
                for j in 0..<2 { dot += m.texts.data[t * 2 + j] * m.images.data[i * 2 + j] }
                #expect(scores.data[t * 2 + i] == dot)  // exact: 0 + 1 · dot
            }
        }
        let r = EnsembleScoring.metrics(data, routed)
        #expect(r["image_retrieval_recall@1"] == 1)
        // Member 0 alone gets text 0 right and text 1 wrong.
        #expect(EnsembleScoring.metrics(data, .single(0, of: 2))["image_retrieval_recall@1"] == 0.5)
        #expect(throws: EnsembleError.self) {
            try EnsembleScoring.validate(MemberWeights(weights: [1, 0], perQuery: [[1, 0]]), for: data, variant: "x")
        }
    }

    /// A report built from numbers, without models.
    func sampleReport() -> EnsembleReport {
        let experts = ["a", "b", "c"]
        var r = EnsembleReport(experts: experts.enumerated().map { .init(name: $1, samplesSeen: 100 * ($0 + 1), fineCentres: 4 + $0) },
                               baselines: ["dense"], variants: Ensemble.variants(experts: experts, baselines: ["dense"], methods: ["paper", "reference"]),
                               routingSettings: ["lambda": "0.2"])
        let tasks: [(String, BenchmarkTask.Kind)] = [("shapes", .classification), ("digits <&>", .classification), ("coco", .retrieval)]
        for (k, (name, kind)) in tasks.enumerated() {
            var results: [String: TaskResult] = [:]
            for (j, v) in r.variants.enumerated() {
                let x = Double((j * 7 + k * 3) % 10) / 10
                let metrics = kind == .classification ? ["acc1": x, "acc5": 1, "mean_per_class_recall": x]
                    : ["image_retrieval_recall@1": x, "text_retrieval_recall@1": x / 2]
                results[v.name] = TaskResult(dataset: name, model: "tiny", pretrained: v.name, task: kind.rawValue, metrics: metrics, samples: 10)
            }
            let routing = [TaskRouting(method: "paper", weights: [0.7, 0.2, 0.1], perQuery: kind == .retrieval ? [[1, 0, 0], [0, 0.5, 0.5]] : nil),
                           TaskRouting(method: "reference", weights: [0.3, 0.3, 0.4])]
            r.add(task: .init(name: name, kind: kind, samples: 10, texts: 3), results: results, routing: routing)
        }
        return r
    }

    @Test func chartsAreWellFormedSVG() throws {
        let dir = try TempDirectory()
        let report = sampleReport()
        try report.write(to: dir.path)
        let files = [EnsembleReport.routingChart("paper"), EnsembleReport.routingChart("reference"), EnsembleReport.accuracyChart, EnsembleReport.clusterChart]
        for f in files {
            let counter = ElementCounter()
            let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: dir.file(f))))
            parser.delegate = counter
            #expect(parser.parse(), "\(f): \(parser.parserError.map { "\($0)" } ?? "")")
            #expect(counter.root == "svg")
            if f.contains("routing-") { #expect(counter.classes["cell"] == 3 * 3, "one cell per task × expert") }
            if f == EnsembleReport.accuracyChart {
                // one bar per variant per task and per mean, legend per variant
                #expect(counter.classes["bar"] == report.variants.count * 4 && counter.classes["legend"] == report.variants.count)
            }
            if f == EnsembleReport.clusterChart { #expect(counter.classes["bar"] == 3) }
        }
    }

    @Test func reportFolderHasTablesAndComparison() throws {
        let dir = try TempDirectory()
        let report = sampleReport()
        try report.write(to: dir.path)
        let md = try String(contentsOfFile: dir.file("report.md"), encoding: .utf8)
        #expect(md.contains("| variant | shapes | digits &lt;&amp;&gt; | coco | mean |"))
        for v in report.variants { #expect(md.contains("| \(v.name) |")) }
        #expect(md.contains("Routed MoDE (paper) has a mean of") && md.contains("baseline-dense") && md.contains("the uniform average"))
        #expect(md.contains("(text→image, mean over queries) | 0.500 | 0.250 | 0.250 |"))
        #expect(md.contains("](charts/routing-paper.svg)") && md.contains("](charts/accuracy.svg)") && md.contains("](charts/cluster-sizes.svg)"))
        let csv = try String(contentsOfFile: dir.file("summary.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 1 + 3 + 1 && csv[0].hasPrefix("task,kind,metric,expert-a,expert-b,expert-c,uniform,routed-paper,routed-reference,baseline-dense"))
        let routing = try JSONDecoder().decode(EnsembleReport.RoutingFile.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("routing.json"))))
        #expect(routing.tasks.count == 3 && routing.tasks[2].methods[0].meanQueryWeights == [0.5, 0.25, 0.25])
        let json = try TaskResult.read(dir.file("routed-paper/shapes_routed-paper_tiny_en_zeroshot_classification.json"))
        #expect(json.dataset == "shapes" && json.pretrained == "routed-paper" && json.model == "tiny" && json.metrics["acc1"] != nil)
        #expect(FileManager.default.fileExists(atPath: dir.file("baseline-dense/coco_baseline-dense_tiny_en_zeroshot_retrieval.json")))
        // The comparison follows the numbers: routed-paper (variant 4) vs baseline-dense (variant 6).
        let paper = report.mean("routed-paper")!, dense = report.mean("baseline-dense")!
        #expect(md.contains(paper < dense ? "points below baseline-dense" : paper > dense ? "points above baseline-dense" : "level with baseline-dense"))
        #expect(md.contains("Its weights move up to 0.667 away from uniform."))  // paper: the query row (1, 0, 0), 1 − 1/3
    }

    @Test func evaluateRunsEveryVariantAndRoutes() throws {
        let dir = try TempDirectory()
        let tasks = try synthTasks(dir)
        let a = try tinyMember(dir, "a", seed: 1), b = try tinyMember(dir, "b", seed: 2)
        let dense = try tinyMember(dir, "dense", seed: 3, dim: 8, role: .baseline)  // baselines may differ in width
        var routedTasks: [String] = []
        let report = try Ensemble.evaluate(tasks: tasks, experts: [a, b], baselines: [dense], methods: ["paper", "uniform"],
                                           tokenizer: try CLIPTokenizer(), batch: 8) { data in
            routedTasks.append(data.task)
            let q = data.kind == .retrieval ? data.owner.indices.map { $0 % 2 == 0 ? [1.0, 0] : [0, 1.0] } : nil
            return [TaskRouting(method: "paper", weights: [1, 0], perQuery: q)]
        }
        #expect(routedTasks == tasks.map(\.name))
        #expect(report.variants.map(\.name) == ["expert-a", "expert-b", "uniform", "routed-paper", "baseline-dense"])
        for t in tasks where t.kind == .classification {
            // Routing all weight to expert a reproduces expert a.
            #expect(report.results["routed-paper"]![t.name]!.metrics == report.results["expert-a"]![t.name]!.metrics)
        }
        try report.write(to: dir.file("report"))
        // clip_benchmark's file name; the model is tinyMember's shape (Evaluation.modelName)
        #expect(FileManager.default.fileExists(atPath: dir.file("report/uniform/\(tasks[0].name)_uniform_ViT-p16-w16x1-i32-e16-t16x1_en_\(tasks[0].kind.rawValue).json")))
        #expect(report.textTable().contains("routed-paper"))
    }

    @Test func clearErrors() throws {
        let dir = try TempDirectory()
        let tasks = try synthTasks(dir)
        let tokenizer = try CLIPTokenizer()
        let a = try tinyMember(dir, "a", seed: 1), wide = try tinyMember(dir, "wide", seed: 2, dim: 8)
        // An expert of another embedding width: named by its file.
        #expect { try Ensemble.taskData(task: tasks[0], members: [a, wide], tokenizer: tokenizer, batch: 8) } throws: { e in
            "\(e)".contains(dir.file("wide")) && "\(e)".contains("embedding dimension 8")
        }
        // A missing checkpoint.
        let missing = EnsembleMember(name: "gone", role: .expert, checkpoint: dir.file("gone"))
        #expect { try Ensemble.taskData(task: tasks[0], members: [a, missing], tokenizer: tokenizer) } throws: { e in
            "\(e)".contains(dir.file("gone"))
        }
        // A task without images, and a task whose images do not decode: the folder is named.
        for (name, image) in [("noimages", nil), ("badimages", [UInt8](repeating: 7, count: 20))] as [(String, [UInt8]?)] {
            let t = dir.file(name)
            try FileManager.default.createDirectory(atPath: t + "/test", withIntermediateDirectories: true)
            try "x\ny\n".write(toFile: t + "/classnames.txt", atomically: true, encoding: .utf8)
            let w = try TarWriter(path: t + "/test/0.tar")
            if let image { try w.add("0.jpg", image) }
            try w.add("0.cls", Array("1".utf8))
            try w.finish()
            let task = try BenchmarkTask.load(directory: t)
            #expect { try Ensemble.taskData(task: task, members: [a], tokenizer: tokenizer) } throws: { e in "\(e)".contains(t) }
        }
        // No experts; routing that misses a method.
        #expect(throws: EnsembleError.self) {
            try Ensemble.evaluate(tasks: tasks, experts: [], baselines: [], methods: [], tokenizer: tokenizer) { _ in [] }
        }
        #expect(throws: EnsembleError.self) {
            try Ensemble.evaluate(tasks: [tasks[0]], experts: [a], baselines: [], methods: ["paper"], tokenizer: tokenizer, batch: 8) { _ in [] }
        }
    }

    @Test func svgEscapesAndScales() {
        #expect(SVGChart.esc("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;")
        #expect(SVGChart.niceScale(87).max == 100 && SVGChart.niceScale(0.42).max == 0.5)
        #expect(Ensemble.safeName("a/b c") == "a_b_c" && Ensemble.safeName("..") == "_..")
    }
}

/// Counts elements by name and by class attribute.
final class ElementCounter: NSObject, XMLParserDelegate {
    var root: String?
    var classes: [String: Int] = [:]
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if root == nil { root = name }
        if let c = attributes["class"] { classes[c, default: 0] += 1 }
    }
}
