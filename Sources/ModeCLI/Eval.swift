import ArgumentParser
import Foundation
import MoDE

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Zero-shot evaluation of a CLIP checkpoint on clip_benchmark task folders.",
        discussion: """
            --tasks is a folder of task folders (or one task folder) in clip_benchmark's WebDataset \
            layout. Classification tasks report acc1, acc5 and mean_per_class_recall (class names × \
            templates, averaged normalised text embeddings); retrieval tasks report \
            image_retrieval_recall@k and text_retrieval_recall@k for k = 1, 5, 10. Writes OUT/TASK.json \
            (clip_benchmark's keys), OUT/summary.csv and OUT/summary.md, and prints the table.
            """)

    @Option(help: "Model weights: a .safetensors file, checkpoint folder or run folder.") var checkpoint: String
    @Option(help: "Model config (preset or JSON); default: the open_clip_config.json beside the weights.") var config: String?
    @Option(help: "Folder of task folders, or one task folder.") var tasks: String
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Output folder.") var out: String
    @Option(help: "Images per forward pass.") var batch = 64
    @Option(help: "Threads (BLAS and parallel loops); default: MODE_THREADS or all available cores.") var threads: Int?

    func run() throws {
        if let threads { try BLAS.setThreads(threads) }
        let model = try CheckpointStore.loadModel(checkpoint, config: config)
        let tokenizer = try CLIPTokenizer()
        let list = try BenchmarkTask.discover(tasks, only: task)
        var results: [TaskResult] = []
        for t in list {
            let bar = ProgressBar("eval \(t.name)", total: nil, unit: "img")
            let r = try Evaluation.evaluate(model: model, tokenizer: tokenizer, task: t, modelName: checkpoint, batch: batch) { done, _ in
                bar.update(done)
            }
            bar.finish(note: r.metrics.sorted { $0.key < $1.key }.prefix(3).map { "\($0.key) \(String(format: "%.3f", $0.value))" }.joined(separator: "  "))
            if !r.skipped.isEmpty { FileHandle.standardError.write(Data("  \(t.name): skipped \(r.skipped)\n".utf8)) }
            results.append(r)
        }
        try Evaluation.writeReport(results, to: out)
        print(try String(contentsOfFile: (out as NSString).appendingPathComponent("summary.md"), encoding: .utf8), terminator: "")
    }
}
