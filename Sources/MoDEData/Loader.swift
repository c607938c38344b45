import Foundation
import MoDETensor
import MoDEFormats

/// Settings of a `ShardLoader`.
public struct LoaderOptions: Sendable {
    /// Shard files, in the order given (each pass shuffles them with the seed).
    public var shards: [String]
    public var imageSize: Int
    public var contextLength: Int
    /// Decoding threads that prefetch while the consumer works; 0 decodes each batch when it is
    /// asked for, in parallel over `Parallel.threads`, and does nothing between batches.
    public var workers: Int = 2
    /// Samples held in the shuffle buffer (0 or 1 = no shuffling within the stream).
    public var shuffleBuffer: Int = 2000
    /// Whether shard order is shuffled at each pass.
    public var shuffleShards = true
    public var seed: UInt64 = 0
    /// Train transform (RandomResizedCrop) or eval transform (resize + centre crop).
    public var train = true
    /// Samples decoded ahead of the consumer by the workers (bounds memory: this many images in flight).
    public var prefetch: Int = 512
    /// Largest image accepted (pixels).
    public var maxPixels: Int = defaultMaxImagePixels

    public init(shards: [String], imageSize: Int, contextLength: Int) {
        self.shards = shards
        self.imageSize = imageSize
        self.contextLength = contextLength
    }

    /// Workers for a consumer that computes on `computeThreads` threads of `cores` cores: the
    /// cores left beside them and the reader thread (at most 8), or 0 (inline decoding) when
    /// none is left. Prefetching threads that share cores with the compute threads slow the
    /// compute down by more than they save.
    public static func automaticWorkers(computeThreads: Int, cores: Int) -> Int {
        let spare = cores - computeThreads - 1
        return spare < 1 ? 0 : min(spare, 8)
    }
}

/// Where a loader is in its stream: pass number and items of that pass consumed (including items
/// that were skipped). Saved in checkpoints; restoring replays the pass's reading (not its
/// decoding) up to that point, so a resumed run sees exactly the samples it would have seen.
public struct LoaderPosition: Codable, Equatable, Sendable {
    public var pass: Int
    public var consumed: Int
    public init(pass: Int = 0, consumed: Int = 0) {
        self.pass = pass
        self.consumed = consumed
    }
}

/// Counts of what the loader read and skipped, by reason, over the whole run (and per shard).
public struct LoaderStats: Sendable, Codable {
    public var samples = 0
    public var skipped: [String: Int] = [:]
    public var shards: [String: ShardStats] = [:]
    public var skippedTotal: Int { skipped.values.reduce(0, +) }
}

/// Streams training batches from WebDataset shards: a reader walks the shards (a seeded
/// permutation per pass) through a seeded shuffle buffer, applying the sample filter before any
/// decoding, and numbers the samples; images are decoded and preprocessed and captions encoded
/// either by worker threads that prefetch (a reader thread feeding them, at most `prefetch`
/// samples in flight) or, with `workers == 0`, inline: each `next` reads its samples and decodes
/// them over `Parallel.threads`. The consumer takes results strictly in stream order, so batches
/// depend neither on thread timing nor on the mode. The stream is endless (pass after pass); a
/// samples-based epoch is the caller's count.
public final class ShardLoader: @unchecked Sendable {
    let engine: LoaderEngine
    public var options: LoaderOptions { engine.options }

    public init(options: LoaderOptions, encodeText: @escaping @Sendable (String) -> [Int32],
                filter: (@Sendable (_ key: String, _ shard: String) -> Bool)? = nil) throws {
        guard !options.shards.isEmpty else { throw DataError.noShards("(empty shard list)") }
        for s in options.shards where !FileManager.default.fileExists(atPath: s) {
            throw DataError.unreadable(s, "no such shard")
        }
        engine = LoaderEngine(options: options, encodeText: encodeText, filter: filter)
    }

    /// The worker threads hold the engine, not this object, so dropping the loader stops them.
    deinit { engine.stop() }

    /// Counts so far (samples delivered; skips by reason, from reading and decoding).
    public var stats: LoaderStats { engine.stats }
    /// Next stream item the consumer takes, and its pass.
    public var position: LoaderPosition { engine.position }
    /// Per-pass statistics: samples used and skipped by reason, and left out by the filter.
    /// The pass in progress holds its decode-stage counts; its reading counts (tar damage,
    /// missing captions or images, the filter) are added when it ends, exactly for the whole pass
    /// even when it was resumed part-way.
    public var dataStats: DataStats { engine.dataStats }
    /// The pass in progress with the reading counts of its finished shards: an early estimate.
    public var currentPassEstimate: PassStats { engine.currentPassEstimate }
    /// Continues from `p` (before the next batch), with the statistics saved with it.
    public func restore(_ p: LoaderPosition, stats: DataStats? = nil) { engine.restore(p, stats: stats) }
    /// Stops the threads (the next `next` restarts them where the stream is).
    public func stop() { engine.stop() }
    /// The shard order of pass `p`.
    public func shardOrder(pass p: Int) -> [String] { engine.shardOrder(pass: p) }
    /// Fills images (batch, 3, S, S) and texts (batch, L) with the next `batch` usable samples.
    public func next(images: UnsafeMutablePointer<Float>, texts: UnsafeMutablePointer<Int32>, batch: Int) throws {
        try engine.next(images: images, texts: texts, batch: batch)
    }
}
