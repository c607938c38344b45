import Foundation
import MoDETensor
import MoDEFormats

/// One pass of the stream, read in order: the pass's shard permutation through the seeded shuffle
/// buffer, the filter and caption checks applied before any decoding, items numbered from 0.
/// Items before `start.consumed` are read and dropped (a resume's replay).
final class PassReader {
    let pass: Int
    private let options: LoaderOptions
    private let filter: (@Sendable (_ key: String, _ shard: String) -> Bool)?
    private var shards: [String]
    private var rng: SeededRNG
    private var buffer: [(WebSample, String)] = []
    private var reader: ShardReader?
    private var extra = ShardStats(shard: "")
    private let skipBefore: Int
    /// Number of the next item.
    private var index = 0
    /// Per-shard reading counts of the shards finished so far.
    private(set) var shardCounts: [String: ShardStats] = [:]
    /// Whether the pass has ended (`next` returned nil).
    private(set) var finished = false
    /// Polled between samples; true ends the pass early.
    var cancelled: () -> Bool = { false }

    init(start: LoaderPosition, shardOrder: [String], options: LoaderOptions,
         filter: (@Sendable (_ key: String, _ shard: String) -> Bool)?) {
        pass = start.pass
        skipBefore = start.consumed
        self.options = options
        self.filter = filter
        shards = shardOrder.reversed()
        rng = SeededRNG(seed: options.seed &+ 0xB0FF &+ UInt64(start.pass) &* 0x1_0000_0001)
    }

    /// The next item (its number in the pass, the sample and its caption), or nil at the end of
    /// the pass. Throws when a shard cannot be opened.
    func next() throws -> (index: Int, sample: WebSample, caption: String)? {
        while let item = try nextItem() {
            defer { index += 1 }
            if index >= skipBefore { return (index, item.0, item.1) }
        }
        return nil
    }

    /// The next item of the shuffled stream (replayed ones included).
    private func nextItem() throws -> (WebSample, String)? {
        let capacity = max(1, options.shuffleBuffer)
        while !finished && !cancelled() {
            guard let s = try nextUsable() else { break }
            if capacity <= 1 { return s }
            if buffer.count < capacity {
                buffer.append(s)
                continue
            }
            let j = rng.nextInt(capacity)
            let out = buffer[j]
            buffer[j] = s
            return out
        }
        if !buffer.isEmpty && !cancelled() {
            return buffer.remove(at: rng.nextInt(buffer.count))
        }
        finished = true
        return nil
    }

    /// The next sample with an image and a usable caption that passes the filter, in shard order.
    private func nextUsable() throws -> (WebSample, String)? {
        while true {
            if reader == nil {
                guard let shard = shards.popLast() else { return nil }
                reader = try ShardReader(path: shard)
                extra = ShardStats(shard: shard)
            }
            guard let r = reader else { return nil }
            guard let s = r.next() else {
                var st = r.stats
                for (k, v) in extra.skipped { st.skip(k, v) }
                shardCounts[r.shard] = st
                reader = nil
                continue
            }
            if cancelled() { return nil }
            if let filter, !filter(s.key, r.shard) { extra.skip(SkipReason.filtered.rawValue); continue }
            // The caption first, as `mode embed` checks it, so both count a sample's skip alike.
            var crng = SeededRNG(seed: options.seed ^ StableHash.fnv1a(s.key))
            switch sampleCaption(s, rng: &crng) {
            case .failure(let reason): extra.skip(reason.rawValue)
            case .success(let caption):
                guard sampleImage(s) != nil else { extra.skip(SkipReason.missingImage.rawValue); continue }
                return (s, caption)
            }
        }
    }
}
