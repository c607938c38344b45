import Foundation
import Tensor

/// Settings of a `ShardLoader`.
public struct LoaderOptions: Sendable {
    /// Shard files, in the order given (each pass shuffles them with the seed).
    public var shards: [String]
    public var imageSize: Int
    public var contextLength: Int
    /// Decoding threads.
    public var workers: Int = 2
    /// Samples held in the shuffle buffer (0 or 1 = no shuffling within the stream).
    public var shuffleBuffer: Int = 2000
    /// Whether shard order is shuffled at each pass.
    public var shuffleShards = true
    public var seed: UInt64 = 0
    /// Train transform (RandomResizedCrop) or eval transform (resize + centre crop).
    public var train = true
    /// Samples decoded ahead of the consumer (bounds memory: this many images in flight).
    public var prefetch: Int = 512
    /// Largest image accepted (pixels).
    public var maxPixels: Int = defaultMaxImagePixels

    public init(shards: [String], imageSize: Int, contextLength: Int) {
        self.shards = shards
        self.imageSize = imageSize
        self.contextLength = contextLength
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

/// Streams training batches from WebDataset shards: a reader thread walks the shards (a seeded
/// permutation per pass) through a seeded shuffle buffer, applying the sample filter before any
/// decoding; worker threads decode and preprocess images and encode captions; the consumer takes
/// results strictly in stream order, so batches do not depend on thread timing. At most
/// `prefetch` samples are in flight, whatever the number of shards. The stream is endless (pass
/// after pass); a samples-based epoch is the caller's count.
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
    /// Continues from `p` (before the next batch).
    public func restore(_ p: LoaderPosition) { engine.restore(p) }
    /// Stops the threads (the next `next` restarts them where the stream is).
    public func stop() { engine.stop() }
    /// The shard order of pass `p`.
    public func shardOrder(pass p: Int) -> [String] { engine.shardOrder(pass: p) }
    /// Fills images (batch, 3, S, S) and texts (batch, L) with the next `batch` usable samples.
    public func next(images: UnsafeMutablePointer<Float>, texts: UnsafeMutablePointer<Int32>, batch: Int) throws {
        try engine.next(images: images, texts: texts, batch: batch)
    }
}

/// The loader's threads and state.
final class LoaderEngine: @unchecked Sendable {
    let options: LoaderOptions
    /// Keeps a sample (by key and shard) or drops it before decoding; nil keeps all.
    let filter: (@Sendable (_ key: String, _ shard: String) -> Bool)?
    let encodeText: @Sendable (String) -> [Int32]

    private let lock = NSCondition()
    private var work: [(index: Int, sample: WebSample, caption: String)] = []
    private var results: [Int: Result<(image: [Float], text: [Int32]), SkipReason>] = [:]
    /// Items the reader has produced in the current pass (next index to assign).
    private var produced = 0
    private var readerDone = false
    private var stopping = false
    private var readerError: Error?
    private var threads: [Thread] = []
    private var started = false
    private var statsValue = LoaderStats()
    /// Samples delivered in the current pass, and whether the pass was read from its start.
    private var passSamples = 0
    private var passStartedAtZero = true

    /// Next stream index the consumer takes, and its pass.
    private(set) var position = LoaderPosition()

    init(options: LoaderOptions, encodeText: @escaping @Sendable (String) -> [Int32],
         filter: (@Sendable (_ key: String, _ shard: String) -> Bool)?) {
        self.options = options
        self.encodeText = encodeText
        self.filter = filter
    }

    /// Counts so far (samples delivered; skips by reason, from reading and decoding).
    var stats: LoaderStats {
        lock.lock()
        defer { lock.unlock() }
        return statsValue
    }

    /// Continues from `p` (before the first batch).
    func restore(_ p: LoaderPosition) {
        stop()
        position = p
    }

    /// Stops the threads (they are restarted by the next `next`).
    func stop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
        for t in threads { while !t.isFinished { usleep(1000) } }
        threads = []
        lock.lock()
        stopping = false
        started = false
        work = []
        results = [:]
        readerDone = false
        readerError = nil
        lock.unlock()
    }

    /// Fills images (batch, 3, S, S) and texts (batch, L) with the next `batch` usable samples.
    func next(images: UnsafeMutablePointer<Float>, texts: UnsafeMutablePointer<Int32>, batch: Int) throws {
        if !started { start() }
        let imageCount = 3 * options.imageSize * options.imageSize, L = options.contextLength
        var filled = 0
        lock.lock()
        defer { lock.unlock() }
        while filled < batch {
            let idx = position.consumed
            if let r = results.removeValue(forKey: idx) {
                position.consumed += 1
                lock.broadcast()
                switch r {
                case .success(let v):
                    v.image.withUnsafeBufferPointer { (images + filled * imageCount).update(from: $0.baseAddress!, count: imageCount) }
                    let t = texts + filled * L
                    t.update(repeating: 0, count: L)
                    for (i, id) in v.text.prefix(L).enumerated() { t[i] = id }
                    filled += 1
                    statsValue.samples += 1
                    passSamples += 1
                case .failure(let reason):
                    statsValue.skipped[reason.rawValue, default: 0] += 1
                }
                continue
            }
            if let e = readerError { throw e }
            if readerDone && idx >= produced {
                // The pass is exhausted: begin the next one (unless a whole pass gave nothing).
                if passStartedAtZero && passSamples == 0 {
                    throw DataError.invalid(options.shards[0], "no usable samples in \(options.shards.count) shard(s) (skipped: \(statsValue.skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")
                }
                lock.unlock()
                stop()
                lock.lock()
                position = LoaderPosition(pass: position.pass + 1, consumed: 0)
                lock.unlock()
                start()
                lock.lock()
                continue
            }
            lock.wait()
        }
    }

    // MARK: threads

    private func start() {
        lock.lock()
        started = true
        readerDone = false
        produced = 0
        passSamples = 0
        passStartedAtZero = position.consumed == 0
        let startPass = position
        lock.unlock()
        let reader = Thread { self.readPass(startPass) }
        reader.stackSize = 1 << 20
        threads = [reader]
        for _ in 0..<max(1, options.workers) {
            let t = Thread { self.decodeLoop() }
            threads.append(t)
        }
        for t in threads { t.start() }
    }

    /// The shard order of pass `p`.
    func shardOrder(pass p: Int) -> [String] {
        var order = options.shards
        if options.shuffleShards && order.count > 1 {
            var rng = SeededRNG(seed: options.seed &+ 0x51AD &+ UInt64(p) &* 0x1_0000_0001)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(i + 1)) }
        }
        return order
    }

    /// Reads pass `start.pass` in stream order, dropping (undecoded) the items before
    /// `start.consumed`, and hands the rest to the workers.
    private func readPass(_ start: LoaderPosition) {
        var rng = SeededRNG(seed: options.seed &+ 0xB0FF &+ UInt64(start.pass) &* 0x1_0000_0001)
        var buffer: [(WebSample, String)] = []
        let capacity = max(1, options.shuffleBuffer)
        var index = 0
        func emit(_ item: (WebSample, String)) -> Bool {
            defer { index += 1 }
            if index < start.consumed { return true }  // replaying up to the resume point
            lock.lock()
            defer { lock.unlock() }
            while !stopping && index - position.consumed >= options.prefetch { lock.wait() }
            if stopping { return false }
            work.append((index, item.0, item.1))
            produced = index + 1
            lock.broadcast()
            return true
        }
        var shardCounts: [String: ShardStats] = [:]
        outer: for shard in shardOrder(pass: start.pass) {
            let reader: ShardReader
            do { reader = try ShardReader(path: shard) } catch {
                lock.lock(); readerError = error; lock.broadcast(); lock.unlock()
                return
            }
            var extra = ShardStats(shard: shard)
            while let s = reader.next() {
                if stopping { break outer }
                if let filter, !filter(s.key, shard) { extra.skip(SkipReason.filtered.rawValue); continue }
                guard sampleImage(s) != nil else { extra.skip(SkipReason.missingImage.rawValue); continue }
                var crng = SeededRNG(seed: options.seed ^ UInt64(truncatingIfNeeded: s.key.hashValueStable))
                switch sampleCaption(s, rng: &crng) {
                case .failure(let r): extra.skip(r.rawValue); continue
                case .success(let caption):
                    if capacity <= 1 {
                        if !emit((s, caption)) { break outer }
                    } else if buffer.count < capacity {
                        buffer.append((s, caption))
                    } else {
                        let j = rng.nextInt(capacity)
                        let out = buffer[j]
                        buffer[j] = (s, caption)
                        if !emit(out) { break outer }
                    }
                }
            }
            var st = reader.stats
            for (k, v) in extra.skipped { st.skip(k, v) }
            shardCounts[shard] = st
        }
        while !buffer.isEmpty && !stopping {
            let j = rng.nextInt(buffer.count)
            let item = buffer.remove(at: j)
            if !emit(item) { break }
        }
        lock.lock()
        // Reading skips count once per full pass (a resume's replay of a partial pass does not
        // count them again).
        if start.consumed == 0 {
            for st in shardCounts.values { for (k, v) in st.skipped { statsValue.skipped[k, default: 0] += v } }
        }
        for (k, v) in shardCounts { statsValue.shards[k] = v }
        readerDone = true
        produced = max(produced, index)
        lock.broadcast()
        lock.unlock()
    }

    private func decodeLoop() {
        let n = 3 * options.imageSize * options.imageSize
        let preprocessor = CLIPPreprocessor(size: options.imageSize)  // not thread-safe: one per worker
        while true {
            lock.lock()
            while work.isEmpty && !stopping && !(readerDone) { lock.wait() }
            if stopping || (work.isEmpty && readerDone) { lock.unlock(); return }
            let item = work.removeFirst()
            let pass = position.pass
            lock.unlock()
            var result: Result<(image: [Float], text: [Int32]), SkipReason>
            do {
                let (_, bytes) = sampleImage(item.sample)!
                let img = try decodeImage(bytes, maxPixels: options.maxPixels)
                var out = [Float](repeating: 0, count: n)
                if options.train {
                    var rng = SeededRNG(seed: options.seed &+ UInt64(pass) &* 0x9E37_79B9 &+ UInt64(item.index) &* 0x85EB_CA6B)
                    out.withUnsafeMutableBufferPointer { _ = preprocessor.train($0.baseAddress!, img, rng: &rng) }
                } else {
                    out.withUnsafeMutableBufferPointer { preprocessor.eval($0.baseAddress!, img) }
                }
                result = .success((out, encodeText(item.caption)))
            } catch let e as ImageError {
                result = .failure(e.skipReason)
            } catch {
                result = .failure(.undecodableImage)
            }
            lock.lock()
            results[item.index] = result
            lock.broadcast()
            lock.unlock()
        }
    }
}

extension String {
    /// A hash stable across processes (FNV-1a over UTF-8), unlike `hashValue`.
    var hashValueStable: UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }
}
