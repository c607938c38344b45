import MoDEData
import Foundation
import MoDETokenizers
import MoDEModels

/// Training batches from WebDataset shards (`ShardLoader`), with captions tokenized by the CLIP
/// tokenizer; its position is the loader's, so checkpoints resume the stream exactly.
public final class ShardSource: BatchSource {
    public let loader: ShardLoader
    public let spec: String

    /// Shards from `spec` (brace notation, `::`-joined), `filter` applied by key before decoding;
    /// `workers` decoding threads (0: inline decoding, see `LoaderOptions.workers`).
    public init(spec: String, imageSize: Int, contextLength: Int, tokenizer: CLIPTokenizer, workers: Int,
                seed: UInt64, shuffleBuffer: Int = 2000, filter: (@Sendable (String, String) -> Bool)? = nil) throws {
        self.spec = spec
        var o = LoaderOptions(shards: try resolveShards(spec), imageSize: imageSize, contextLength: contextLength)
        o.workers = workers
        o.seed = seed
        o.shuffleBuffer = shuffleBuffer
        let text = CLIPTextEncoder(tokenizer: tokenizer, contextLength: contextLength)
        loader = try ShardLoader(options: o, encodeText: { text.ids($0) }, filter: filter)
    }

    public var summary: String { spec }

    public func next(images: UnsafeMutablePointer<Float>, texts: UnsafeMutablePointer<Int32>, batch: Int) throws {
        try loader.next(images: images, texts: texts, batch: batch)
    }

    public var position: DataPosition { .shards(loader.position) }

    public func restore(_ position: DataPosition, stats: DataStats?) throws {
        guard case .shards(let p) = position else {
            throw TrainingError.resumeMismatch("the checkpoint's data position is not a shard-loader position (the run was trained on another source)")
        }
        loader.restore(p, stats: stats)
    }

    public var dataStats: DataStats? { loader.dataStats }

    public var passInProgress: PassStats? { loader.currentPassEstimate }
}
