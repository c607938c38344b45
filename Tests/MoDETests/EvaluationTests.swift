import MoDEData
import MoDESynth
import Foundation
import MoDEModels
import MoDETensor
import Testing
import TestSupport
import MoDETokenizers
@testable import MoDE

@Suite struct EvaluationTests {
    /// Hand-made case: 3 images, 4 texts (image 0 has texts 0 and 3), 2-D unit features.
    @Test func retrievalRecallsByHand() {
        let images: [Float] = [1, 0, 0, 1, 0.6, 0.8]
        let texts: [Float] = [0.8, 0.6,   // owner 0; scores 0.8, 0.6, 0.96: its image ranks 2nd
                              0, 1,       // owner 1; its image ranks 1st
                              1, 0,       // owner 2; scores 1, 0, 0.6: 2nd
                              0.6, 0.8]   // owner 0; scores 0.6, 0.8, 1: 3rd
        let r = Evaluation.retrievalRecalls(images: images, texts: texts, imageCount: 3, owner: [0, 1, 2, 0], dim: 2, ks: [1, 2])
        #expect(r["image_retrieval_recall@1"] == 0.25 && r["image_retrieval_recall@2"] == 0.75)
        // image→text: image 0's own texts rank 2nd (text 0) and 3rd; image 1's ranks 1st; image 2's
        // own text ranks 4th
        #expect(r["text_retrieval_recall@1"]! == 1.0 / 3 && r["text_retrieval_recall@2"]! == 2.0 / 3)
    }

    @Test func evaluatesSyntheticTasksEndToEnd() throws {
        let dir = try TempDirectory()
        var cfg = SynthConfig()
        cfg.pairs = 50
        cfg.shardSize = 50
        cfg.tasksPerClass = 2
        try SynthCorpus.generate(cfg, into: dir.path + "/corpus")
        let tasks = try BenchmarkTask.discover(dir.path + "/corpus/tasks")
        #expect(tasks.count >= 3)
        let model = CLIPModel(config: CLIPConfig(embedDim: 16, vision: .init(imageSize: 32, patchSize: 16, width: 16, layers: 1, headWidth: 8),
                                                 text: .init(contextLength: 16, width: 16, heads: 2, layers: 1)), seed: 0)
        let tokenizer = try CLIPTokenizer()
        var results: [TaskResult] = []
        for t in tasks {
            let r = try Evaluation.evaluate(model: model, tokenizer: tokenizer, task: t, modelName: "random", pretrained: "none", batch: 8)
            // acc5 is undefined (NaN) for tasks of fewer than 5 classes
            for (k, v) in r.metrics where !(k == "acc5" && t.classnames.count < 5) { #expect(v >= 0 && v <= 1) }
            #expect(r.metrics["acc5"].map { $0.isNaN == (t.classnames.count < 5) } ?? (t.kind == .retrieval))
            #expect(r.samples > 0 && r.skipped.isEmpty)
            results.append(r)
        }
        try Evaluation.writeReport(results, to: dir.file("eval"))
        let md = try String(contentsOfFile: dir.file("eval/summary.md"), encoding: .utf8)
        #expect(md.contains("| acc1 | acc5 | mean_per_class_recall |") && md.contains("retrieval"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("eval/shapes_none_random_en_zeroshot_classification.json")))) as! [String: Any]
        #expect(json["dataset"] as? String == "shapes" && json["task"] as? String == "zeroshot_classification")
    }
}
