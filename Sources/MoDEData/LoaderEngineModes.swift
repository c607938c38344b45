import Foundation
import MoDETensor
import MoDEFormats

extension LoaderEngine {
    // MARK: inline mode

    /// Inline mode: reads the next items on the calling thread and decodes them in parallel over
    /// `Parallel.threads`, straight into the batch; nothing runs between calls.
    func nextInline(images: UnsafeMutablePointer<Float>, texts: UnsafeMutablePointer<Int32>, batch: Int) throws {
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

    func takePreprocessor() -> CLIPPreprocessor {
        lock.lock()
        defer { lock.unlock() }
        return preprocessors.popLast() ?? CLIPPreprocessor(size: options.imageSize)
    }

    func returnPreprocessor(_ p: CLIPPreprocessor) {
        lock.lock()
        preprocessors.append(p)
        lock.unlock()
    }

    // MARK: threads

    func start() {
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
    func readPass(_ start: LoaderPosition) {
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
    func decodeLoop() {
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
