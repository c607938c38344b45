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
            image_retrieval_recall@k and text_retrieval_recall@k for k = 1, 5, 10; acc5 is NaN for \
            tasks of fewer than 5 classes, as in clip_benchmark.

            Writes, per task, clip_benchmark's result file \
            OUT/{dataset}_{pretrained}_{model}_en_{task}.json with its keys only (dataset, model, \
            pretrained, task, metrics, language): dataset = the task folder's name; model = the \
            architecture (the preset named by --config or equal to the config, e.g. ViT-B-32, else a \
            name built from its shape); pretrained = --checkpoint as given (in the file name, its last \
            path component). `clip_benchmark build OUT` tabulates them. Also OUT/summary.csv and \
            OUT/summary.md (samples and metrics per task), OUT/skipped.csv (skipped samples per task \
            and reason); prints the table.
            """)

    @Option(help: "Model weights: a .safetensors or PyTorch .pt/.bin file, an open_clip or transformers folder, a checkpoint or run folder.") var checkpoint: String
    @Option(help: "Model config (preset or JSON); default: the open_clip_config.json beside the weights.") var config: String?
    @Option(help: "Folder of task folders, or one task folder.") var tasks: String
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Output folder.") var out: String
    @Option(help: "Images per forward pass.") var batch = 64
    @OptionGroup(title: "Compute") var compute: ComputeOptions

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        try compute.apply()
        var bar: ProgressBar?
        _ = try EvaluationRun.run(checkpoint: checkpoint, config: config, tasks: tasks, only: task, out: out, batch: batch) { event in
            switch event {
            case .loaded(let d):
                printError(d)
            case let .encoding(t, done, total):
                if bar == nil { bar = ProgressBar("eval \(t)", total: total, unit: "img") }
                bar?.update(done)
            case .evaluated(let r):
                bar?.finish(note: r.metrics.sorted { $0.key < $1.key }.prefix(3).map { "\($0.key) \(String(format: "%.3f", $0.value))" }.joined(separator: "  "))
                bar = nil
                if !r.skipped.isEmpty { printError("  \(r.dataset): skipped \(r.skipped)") }
            }
        }
        print(try String(contentsOfFile: (out as NSString).appendingPathComponent("summary.md"), encoding: .utf8), terminator: "")
    }
}
