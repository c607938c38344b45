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

/// The loader's state, its threads (prefetching mode) or its inline decoding (`workers == 0`).
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
    /// Per-pass statistics: decode-stage counts as the consumer takes items; the pass's reading
    /// counts (complete for the pass, whatever position it was resumed at) once it ends.
    private var passes: [PassStats] = []
    /// Reading counts of the last pass the reader finished, applied when the consumer ends it.
    private var finishedReading: [String: ShardStats] = [:]
    /// Reading counts of the shards finished so far in the current pass (for `currentPassEstimate`).
    private var liveReading: [String: ShardStats] = [:]
    /// Samples delivered in the current pass, and whether the pass was read from its start.
    private var passSamples = 0
    private var passStartedAtZero = true
    /// Inline mode: the pass being read, and preprocessors for the decoding threads.
    private var inlineReader: PassReader?
    private var preprocessors: [CLIPPreprocessor] = []

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

    /// Continues from `p` (before the first batch), with the per-pass statistics saved with it.
    func restore(_ p: LoaderPosition, stats: DataStats?) {
        stop()
        position = p
        lock.lock()
        passes = (stats?.passes ?? []).filter { $0.pass <= p.pass }
        liveReading = [:]
        lock.unlock()
    }

    /// Per-pass statistics so far (the current pass with its decode-stage counts only, until it ends).
    var dataStats: DataStats {
        lock.lock()
        defer { lock.unlock() }
        return DataStats(passes: passes)
    }

    /// The current pass's statistics including the reading counts of the shards it finished so
    /// far (an estimate while the pass runs; items read ahead of the consumer are not in `used`).
    var currentPassEstimate: PassStats {
        lock.lock()
        defer { lock.unlock() }
        var p = passIndex(position.pass).map { passes[$0] } ?? PassStats(pass: position.pass)
        Self.addReading(liveReading, to: &p)
        return p
    }

    /// The index of pass `pass` in `passes`, created when missing. Call with the lock held.
    @discardableResult
    private func passIndex(_ pass: Int) -> Int? {
        if let i = passes.lastIndex(where: { $0.pass == pass }) { return i }
        passes.append(PassStats(pass: pass))
        return passes.count - 1
    }

    /// Counts one item the consumer took from pass `pass`. Call with the lock held.
    private func countItem(pass: Int, skipped reason: SkipReason?) {
        let i = passIndex(pass)!
        if let reason {
            statsValue.skipped[reason.rawValue, default: 0] += 1
            passes[i].skipped[reason.rawValue, default: 0] += 1
        } else {
            statsValue.samples += 1
            passSamples += 1
            passes[i].used += 1
        }
    }

    /// Ends the current pass in the statistics with the reading counts of the whole pass. Call
    /// with the lock held.
    private func completePass(reading: [String: ShardStats]) {
        let i = passIndex(position.pass)!
        Self.addReading(reading, to: &passes[i])
        passes[i].complete = true
        liveReading = [:]
    }

    /// Adds reading counts to `p`: the filter's exclusions as `filtered`, the rest as skips.
    private static func addReading(_ reading: [String: ShardStats], to p: inout PassStats) {
        for st in reading.values {
            for (k, v) in st.skipped {
                if k == SkipReason.filtered.rawValue { p.filtered += v } else { p.skipped[k, default: 0] += v }
            }
        }
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
        inlineReader = nil
        lock.unlock()
    }

    /// Fills images (batch, 3, S, S) and texts (batch, L) with the next `batch` usable samples.
    func next(images: UnsafeMutablePointer<Float>, texts: UnsafeMutablePointer<Int32>, batch: Int) throws {
        if options.workers <= 0 {
            try nextInline(images: images, texts: texts, batch: batch)
            return
        }
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
                    writeText(texts + filled * L, v.text)
                    filled += 1
                    countItem(pass: position.pass, skipped: nil)
                case .failure(let reason):
                    countItem(pass: position.pass, skipped: reason)
                }
                continue
            }
            if let e = readerError { throw e }
            if readerDone && idx >= produced {
                // The pass is exhausted: begin the next one (unless a whole pass gave nothing).
                try checkPassGaveSamples()
                completePass(reading: finishedReading)
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

    /// Writes a caption's ids into a row of L ids, zero-padded: t (L).
    private func writeText(_ t: UnsafeMutablePointer<Int32>, _ ids: [Int32]) {
        let L = options.contextLength
        t.update(repeating: 0, count: L)
        for (i, id) in ids.prefix(L).enumerated() { t[i] = id }
    }

    /// Throws when a pass read from its start is over and delivered no sample. Call with the lock held.
    private func checkPassGaveSamples() throws {
        if passStartedAtZero && passSamples == 0 {
            throw DataError.invalid(options.shards[0], "no usable samples in \(options.shards.count) shard(s) (skipped: \(statsValue.skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")
        }
    }

    /// Adds a finished pass's reading counts (skips count once per full pass: a resume's replay
    /// of a partial pass does not count them again). Call with the lock held.
    private func recordReading(_ shardCounts: [String: ShardStats], fullPass: Bool) {
        if fullPass {
            for st in shardCounts.values { for (k, v) in st.skipped { statsValue.skipped[k, default: 0] += v } }
        }
        for (k, v) in shardCounts { statsValue.shards[k] = v }
    }

    /// Decodes and preprocesses an item's image into out (3, S, S) and encodes its caption; the
    /// augmentation is seeded by the pass and the item's number.
    private func decode(_ out: UnsafeMutablePointer<Float>, _ item: (index: Int, sample: WebSample, caption: String),
                        pass: Int, preprocessor: CLIPPreprocessor) -> Result<[Int32], SkipReason> {
        do {
            let (_, bytes) = sampleImage(item.sample)!
            let img = try decodeImage(bytes, maxPixels: options.maxPixels)
            if options.train {
                var rng = SeededRNG(seed: options.seed &+ UInt64(pass) &* 0x9E37_79B9 &+ UInt64(item.index) &* 0x85EB_CA6B)
                preprocessor.train(out, img, rng: &rng)
            } else {
                preprocessor.eval(out, img)
            }
            return .success(encodeText(item.caption))
        } catch let e as ImageError {
            return .failure(e.skipReason)
        } catch {
            return .failure(.undecodableImage)
        }
    }

    // MARK: inline mode

    /// Inline mode: reads the next items on the calling thread and decodes them in parallel over
    /// `Parallel.threads`, straight into the batch; nothing runs between calls.
    private func nextInline(images: UnsafeMutablePointer<Float>, texts: UnsafeMutablePointer<Int32>, batch: Int) throws {
        let imageCount = 3 * options.imageSize * options.imageSize, L = options.contextLength
        var filled = 0
        while filled < batch {
            if inlineReader == nil {
                passSamples = 0
                passStartedAtZero = position.consumed == 0
                inlineReader = PassReader(start: position, shardOrder: shardOrder(pass: position.pass), options: options, filter: filter)
            }
            let reader = inlineReader!
            var items: [(index: Int, sample: WebSample, caption: String)] = []
            items.reserveCapacity(batch - filled)
            do {
                while items.count < batch - filled, let item = try reader.next() { items.append(item) }
            } catch {
                // Unread items are read again by the next call, from `position`.
                inlineReader = nil
                throw error
            }
            if items.isEmpty {
                lock.lock()
                defer { lock.unlock() }
                recordReading(reader.shardCounts, fullPass: passStartedAtZero)
                try checkPassGaveSamples()
                completePass(reading: reader.shardCounts)
                position = LoaderPosition(pass: position.pass + 1, consumed: 0)
                inlineReader = nil
                continue
            }
            // Item j decodes into slot filled + j; the skipped ones' slots are closed up below.
            let base = filled, pass = reader.pass
            var decoded = [Result<[Int32], SkipReason>](repeating: .failure(.undecodableImage), count: items.count)
            decoded.withUnsafeMutableBufferPointer { out in
                Parallel.forEach(items.count) { r in
                    let pre = takePreprocessor()
                    for j in r { out[j] = decode(images + (base + j) * imageCount, items[j], pass: pass, preprocessor: pre) }
                    returnPreprocessor(pre)
                }
            }
            lock.lock()
            for (j, r) in decoded.enumerated() {
                position.consumed = items[j].index + 1
                switch r {
                case .success(let text):
                    if base + j != filled {
                        (images + filled * imageCount).update(from: images + (base + j) * imageCount, count: imageCount)
                    }
                    writeText(texts + filled * L, text)
                    filled += 1
                    countItem(pass: pass, skipped: nil)
                case .failure(let reason):
                    countItem(pass: pass, skipped: reason)
                }
            }
            liveReading = reader.shardCounts
            lock.unlock()
        }
    }

    private func takePreprocessor() -> CLIPPreprocessor {
        lock.lock()
        defer { lock.unlock() }
        return preprocessors.popLast() ?? CLIPPreprocessor(size: options.imageSize)
    }

    private func returnPreprocessor(_ p: CLIPPreprocessor) {
        lock.lock()
        preprocessors.append(p)
        lock.unlock()
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

    /// Reader thread: reads pass `start.pass` from item `start.consumed` and hands the items to
    /// the workers, at most `prefetch` ahead of the consumer.
    private func readPass(_ start: LoaderPosition) {
        let reader = PassReader(start: start, shardOrder: shardOrder(pass: start.pass), options: options, filter: filter)
        reader.cancelled = { self.stopping }
        var produced = start.consumed
        do {
            while let item = try reader.next() {
                lock.lock()
                while !stopping && item.index - position.consumed >= options.prefetch { lock.wait() }
                if stopping { lock.unlock(); return }
                work.append(item)
                if reader.shardCounts.count != liveReading.count { liveReading = reader.shardCounts }
                self.produced = item.index + 1
                produced = item.index + 1
                lock.broadcast()
                lock.unlock()
            }
        } catch {
            lock.lock(); readerError = error; lock.broadcast(); lock.unlock()
            return
        }
        lock.lock()
        if !stopping {
            recordReading(reader.shardCounts, fullPass: start.consumed == 0)
            finishedReading = reader.shardCounts
            readerDone = true
            self.produced = max(self.produced, produced)
        }
        lock.broadcast()
        lock.unlock()
    }

    /// Worker thread: decodes items into results until the pass is read or the loader stops.
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
            var image = [Float](repeating: 0, count: n)
            let text = image.withUnsafeMutableBufferPointer { decode($0.baseAddress!, item, pass: pass, preprocessor: preprocessor) }
            lock.lock()
            results[item.index] = text.map { (image: image, text: $0) }
            lock.broadcast()
            lock.unlock()
        }
    }
}
