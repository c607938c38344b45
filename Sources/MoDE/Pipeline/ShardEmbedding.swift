import MoDEData
import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import MoDEFormats

/// Turns captions into L2-normalised feature rows; `SentenceEncoder` is the real one, tests
/// may supply a deterministic stand-in.
public protocol CaptionEmbedder: AnyObject {
    /// Feature width D.
    var dimension: Int { get }
    /// What produced the features (the model directory), recorded in every file.
    var modelName: String { get }
    /// The pooling used, recorded in every file.
    var poolingName: String { get }
    /// (N, D) L2-normalised features of `texts`; `progress` gets the number of texts done.
    func embed(_ texts: [String], batchSize: Int, progress: ((Int) -> Void)?) -> Tensor
}

extension SentenceEncoder: CaptionEmbedder {
    public var modelName: String { directory }
    public var poolingName: String { spec.pooling.rawValue }
}

/// Progress of `ShardEmbedding.run`, reported after every batch.
public struct EmbedProgress: Sendable {
    /// Captions embedded so far in this run.
    public var captions: Int
    /// Shards finished (written or found done) out of this worker's shards.
    public var shardsDone: Int
    public var shardsTotal: Int
    /// Expected captions of this run (from the shards written so far); nil before the first.
    public var estimatedCaptions: Int?
}

/// What one run of `ShardEmbedding.run` did.
public struct EmbedSummary: Sendable, Codable, Equatable {
    /// Feature files written by this run.
    public var written: [String] = []
    /// This worker's shards whose output already existed and was valid.
    public var alreadyDone = 0
    /// Captions embedded.
    public var captions = 0
    /// Samples skipped, by reason (no caption, invalid text, tar damage, …).
    public var skipped: [String: Int] = [:]
    public var seconds = 0.0
}

/// `mode embed --shards`: one feature file per shard (see `FeatureFile`).
public enum ShardEmbedding {
    /// Samples whose key holds a line break cannot be stored in the newline-joined key list.
    public static let invalidKey = "invalid_key"

    /// Embeds the captions of this worker's shards (index % N == i in `shards`) into
    /// `outDirectory`/<stem>.safetensors, skipping shards whose output is already valid for
    /// this embedder. Each file is written atomically once its shard is done.
    @discardableResult
    public static func run(shards: [String], outDirectory: String, embedder: CaptionEmbedder, batchSize: Int = 64,
                           worker: WorkerSlice = .all, progress: ((EmbedProgress) -> Void)? = nil) throws -> EmbedSummary {
        guard batchSize >= 1 else { throw PipelineError.invalid("batch size must be at least 1") }
        let start = Date()
        let stems = try shardStems(shards)
        try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
        let mine = shards.indices.filter { worker.owns($0) }
        var summary = EmbedSummary()
        var todo: [Int] = []
        for i in mine {
            let out = outputPath(outDirectory, stems[i])
            if isValidOutput(out, for: embedder) { summary.alreadyDone += 1 } else { todo.append(i) }
        }
        var state = EmbedProgress(captions: 0, shardsDone: summary.alreadyDone, shardsTotal: mine.count, estimatedCaptions: nil)
        progress?(state)
        for (n, i) in todo.enumerated() {
            let out = outputPath(outDirectory, stems[i])
            let before = state.captions
            let (count, skipped) = try embedShard(shards[i], to: out, embedder: embedder, batchSize: batchSize) { done in
                var s = state
                s.captions = before + done
                progress?(s)
            }
            summary.written.append(out)
            summary.captions += count
            for (k, v) in skipped { summary.skipped[k, default: 0] += v }
            state.captions = before + count
            state.shardsDone += 1
            let finished = n + 1
            state.estimatedCaptions = state.captions + state.captions * (todo.count - finished) / finished
            progress?(state)
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }

    /// FEATDIR/<stem>.safetensors.
    static func outputPath(_ directory: String, _ stem: String) -> String {
        (directory as NSString).appendingPathComponent(stem + ".safetensors")
    }

    /// Whether `path` is a complete feature file made by `embedder` (model, width, counts).
    public static func isValidOutput(_ path: String, for embedder: CaptionEmbedder) -> Bool {
        guard FileManager.default.fileExists(atPath: path),
              let info = try? FeatureFileInfo(path: path), let file = try? SafeTensorsFile(path: path) else { return false }
        guard info.dimension == embedder.dimension, info.model == embedder.modelName, info.metadata.count == info.rows else { return false }
        return (try? TextList.read(file, FeatureFile.Key.keys, count: info.rows)) != nil
            && (try? TextList.read(file, FeatureFile.Key.captions, count: info.rows)) != nil
    }

    /// Reads every sample of `shard`, embeds the usable captions and writes the feature file
    /// to `path` atomically. Returns the captions embedded and the skipped samples by reason.
    /// `progress` gets the captions of this shard done so far.
    @discardableResult
    public static func embedShard(_ shard: String, to path: String, embedder: CaptionEmbedder, batchSize: Int = 64,
                                  progress: ((Int) -> Void)? = nil) throws -> (count: Int, skipped: [String: Int]) {
        let reader = try ShardReader(path: shard)
        var keys: [String] = [], captions: [String] = []
        var skipped: [String: Int] = [:]
        while let s = reader.next() {
            if s.key.contains(where: \.isNewline) { skipped[invalidKey, default: 0] += 1; continue }
            switch embeddingCaption(s) {
            case .success(let c):
                keys.append(s.key)
                captions.append(c)
            case .failure(let reason):
                skipped[reason.rawValue, default: 0] += 1
            }
        }
        for (k, v) in reader.stats.skipped { skipped[k, default: 0] += v }
        let d = embedder.dimension
        let features = captions.isEmpty ? Tensor(shape: [0, d]) : embedder.embed(captions, batchSize: batchSize, progress: progress)
        guard features.shape == [captions.count, d] else {
            throw PipelineError.invalid("the embedder returned shape \(features.shape) for \(captions.count) captions of width \(d)")
        }
        var w = SafeTensorsWriter()
        w.add(FeatureFile.Key.features, features)
        w.addTextList(FeatureFile.Key.keys, keys)
        w.addTextList(FeatureFile.Key.captions, captions)
        try w.write(to: path, metadata: FeatureFileMetadata(shard: shard, model: embedder.modelName, pooling: embedder.poolingName,
                                                            dimension: d, count: captions.count, skipped: skipped).metadata)
        return (captions.count, skipped)
    }
}
