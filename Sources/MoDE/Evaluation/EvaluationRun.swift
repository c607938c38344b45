import Foundation
import MoDEData
import MoDEModels
import MoDETokenizers

/// `mode eval` as a library call: one CLIP checkpoint on clip_benchmark task folders.
public enum EvaluationRun {
    /// What `mode eval` reports while it works.
    public enum Event: Sendable {
        /// The checkpoint was opened: its format, architecture and activation, on one line.
        case loaded(String)
        /// Images of `task` encoded so far, of `total`.
        case encoding(task: String, done: Int, total: Int)
        /// A task is done.
        case evaluated(TaskResult)
    }

    /// Evaluates `checkpoint` (a file, hub, checkpoint or run folder; `config` as in
    /// `CLIPModel.load`) on every task of `tasks` (a folder of task folders, or one; `only`
    /// picks one), writes the report into `out`, and returns the results. Result files name the
    /// architecture as clip_benchmark's `model` and the checkpoint as its `pretrained`.
    public static func run(checkpoint: String, config: String?, tasks: String, only: String? = nil, out: String, batch: Int = 64,
                           events: (Event) -> Void = { _ in }) throws -> [TaskResult] {
        guard batch > 0 else { throw DataError.invalid(tasks, "--batch must be positive") }
        let (model, opened) = try CheckpointStore.openModel(checkpoint, config: config)
        events(.loaded(opened.description))
        let tokenizer = try CLIPTokenizer()
        let modelName = Evaluation.modelName(model.config, named: config)
        var results: [TaskResult] = []
        for t in try BenchmarkTask.discover(tasks, only: only) {
            let r = try withoutActuallyEscaping(events) { events in
                try Evaluation.evaluate(model: model, tokenizer: tokenizer, task: t, modelName: modelName, pretrained: checkpoint,
                                        batch: batch) { done, total in
                    events(.encoding(task: t.name, done: done, total: total))
                }
            }
            events(.evaluated(r))
            results.append(r)
        }
        try Evaluation.writeReport(results, to: out)
        return results
    }
}
