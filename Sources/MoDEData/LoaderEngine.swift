import Foundation
import MoDETensor
import MoDEFormats

/// The loader's state, its threads (prefetching mode) or its inline decoding (`workers == 0`).
final class LoaderEngine: @unchecked Sendable {
    let options: LoaderOptions
    /// Keeps a sample (by key and shard) or drops it before decoding; nil keeps all.
    let filter: (@Sendable (_ key: String, _ shard: String) -> Bool)?
    let encodeText: @Sendable (String) -> [Int32]

    let lock = NSCondition()
    var work: [(index: Int, sample: WebSample, caption: String)] = []
    var results: [Int: Result<(image: [Float], text: [Int32]), SkipReason>] = [:]
    /// Items the reader has produced in the current pass (next index to assign).
    var produced = 0
    var readerDone = false
    var stopping = false
    var readerError: Error?
    var threads: [Thread] = []
    var started = false
    var statsValue = LoaderStats()
    /// Per-pass statistics: decode-stage counts as the consumer takes items; the pass's reading
    /// counts (complete for the pass, whatever position it was resumed at) once it ends.
    var passes: [PassStats] = []
    /// Reading counts of the last pass the reader finished, applied when the consumer ends it.
    var finishedReading: [String: ShardStats] = [:]
    /// Reading counts of the shards finished so far in the current pass (for `currentPassEstimate`).
    var liveReading: [String: ShardStats] = [:]
    /// Samples delivered in the current pass, and whether the pass was read from its start.
    var passSamples = 0
    var passStartedAtZero = true
    /// Inline mode: the pass being read, and preprocessors for the decoding threads.
    var inlineReader: PassReader?
    var preprocessors: [CLIPPreprocessor] = []

    /// Next stream index the consumer takes, and its pass.
    var position = LoaderPosition()

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
    func passIndex(_ pass: Int) -> Int? {
        if let i = passes.lastIndex(where: { $0.pass == pass }) { return i }
        passes.append(PassStats(pass: pass))
        return passes.count - 1
    }

    /// Counts one item the consumer took from pass `pass`. Call with the lock held.
    func countItem(pass: Int, skipped reason: SkipReason?) {
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
    func completePass(reading: [String: ShardStats]) {
        let i = passIndex(position.pass)!
        Self.addReading(reading, to: &passes[i])
        passes[i].complete = true
        liveReading = [:]
    }

    /// Adds reading counts to `p`: the filter's exclusions as `filtered`, the rest as skips.
    static func addReading(_ reading: [String: ShardStats], to p: inout PassStats) {
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
    func writeText(_ t: UnsafeMutablePointer<Int32>, _ ids: [Int32]) {
        let L = options.contextLength
        t.update(repeating: 0, count: L)
        for (i, id) in ids.prefix(L).enumerated() { t[i] = id }
    }

    /// Throws when a pass read from its start is over and delivered no sample. Call with the lock held.
    func checkPassGaveSamples() throws {
        if passStartedAtZero && passSamples == 0 {
            throw DataError.invalid(options.shards[0], "no usable samples in \(options.shards.count) shard(s) (skipped: \(statsValue.skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")
        }
    }

    /// Adds a finished pass's reading counts (skips count once per full pass: a resume's replay
    /// of a partial pass does not count them again). Call with the lock held.
    func recordReading(_ shardCounts: [String: ShardStats], fullPass: Bool) {
        if fullPass {
            for st in shardCounts.values { for (k, v) in st.skipped { statsValue.skipped[k, default: 0] += v } }
        }
        for (k, v) in shardCounts { statsValue.shards[k] = v }
    }

    /// Decodes and preprocesses an item's image into out (3, S, S) and encodes its caption; the
    /// augmentation is seeded by the pass and the item's number.
    func decode(_ out: UnsafeMutablePointer<Float>, _ item: (index: Int, sample: WebSample, caption: String),
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
}
