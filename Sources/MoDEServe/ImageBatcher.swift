import Foundation
import MoDE

/// Dynamic batching: images of concurrent requests, already preprocessed, wait in one bounded
/// queue; a single worker thread takes up to `maxBatch` images at a time (waiting at most
/// `batchWait` after the first for more to arrive) and encodes them with each expert they need
/// in one forward pass per expert.
final class ImageBatcher: @unchecked Sendable {
    /// One request's images: pixels (count, 3, S, S) per image size, and the experts to run.
    struct Job {
        let count: Int
        let pixels: [Int: [Float]]
        let experts: [Int]
        let done: (Result<[Int: Tensor], Error>) -> Void
    }

    let models: ServeModels
    let maxBatch: Int
    let maxQueue: Int
    let batchWait: TimeInterval
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var queued = 0
    private var stopped = false
    private var held = false
    private var thread: Thread?
    private var observer: ((Int) -> Void)?
    /// Sizes of the batches run so far (for tests and metrics), most recent last; at most 1024.
    private(set) var batchSizes: [Int] = []

    init(models: ServeModels, maxBatch: Int, maxQueue: Int, batchWaitMs: Int) {
        self.models = models
        self.maxBatch = maxBatch
        self.maxQueue = maxQueue
        self.batchWait = Double(batchWaitMs) / 1000
        let t = Thread { self.loop() }  // holds the batcher until `stop`
        t.name = "mode-serve-batcher"
        thread = t
        t.start()
    }

    /// Images waiting for the worker.
    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued
    }

    /// The L2-normalised features (count, E) of the job's images, per expert asked for. Throws
    /// `ServeError.overloaded` at once when the queue cannot take the images.
    func encode(count: Int, pixels: [Int: [Float]], experts: [Int]) async throws -> [Int: Tensor] {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<[Int: Tensor], Error>) in
            condition.lock()
            guard !stopped, queued + count <= maxQueue else {
                let q = queued
                condition.unlock()
                c.resume(throwing: ServeError.overloaded(queued: q, limit: maxQueue))
                return
            }
            queue.append(Job(count: count, pixels: pixels, experts: experts) { c.resume(with: $0) })
            queued += count
            condition.signal()
            condition.unlock()
        }
    }

    /// Tells `observe` the images of every batch from now on (metrics).
    func observe(_ observe: @escaping (Int) -> Void) {
        condition.lock()
        observer = observe
        condition.unlock()
    }

    /// Stops the worker once the queue is empty.
    func stop() {
        condition.lock()
        stopped = true
        held = false
        condition.broadcast()
        condition.unlock()
    }

    /// Tests: keep the worker from taking jobs (`hold(true)`) so that the queue fills.
    func hold(_ on: Bool) {
        condition.lock()
        held = on
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while (queue.isEmpty || held) && !stopped { condition.wait() }
            if queue.isEmpty && stopped { condition.unlock(); return }
            let deadline = Date(timeIntervalSinceNow: batchWait)
            while queued < maxBatch && !stopped && condition.wait(until: deadline) {}
            var taken: [Job] = []
            var n = 0
            while let j = queue.first, taken.isEmpty || n + j.count <= maxBatch {
                taken.append(queue.removeFirst())
                n += j.count
            }
            queued -= n
            batchSizes.append(n)
            if batchSizes.count > 1024 { batchSizes.removeFirst(batchSizes.count - 1024) }
            let observe = observer
            condition.unlock()
            observe?(n)
            run(taken)
        }
    }

    /// Encodes the images of `jobs` with every expert any of them needs, `maxBatch` images per
    /// forward pass, and hands each job its rows.
    private func run(_ jobs: [Job]) {
        var results = [[Int: Tensor]](repeating: [:], count: jobs.count)
        let experts = Set(jobs.flatMap(\.experts)).sorted()
        for e in experts {
            let members = jobs.indices.filter { jobs[$0].experts.contains(e) }
            let total = members.reduce(0) { $0 + jobs[$1].count }
            models.withModel(e) { model in
                let s = model.config.vision.imageSize, per = 3 * s * s, dim = model.embedDim
                let pixels = Tensor(shape: [total, 3, s, s])
                var row = 0
                for j in members {
                    jobs[j].pixels[s]!.withUnsafeBufferPointer { pixels.data.advanced(by: row * per).update(from: $0.baseAddress!, count: $0.count) }
                    row += jobs[j].count
                }
                let features = Tensor(shape: [total, dim])
                var start = 0
                while start < total {
                    let b = min(maxBatch, total - start)
                    model.encodeImage(features.data + start * dim, pixels.data + start * per, batch: b)
                    start += b
                }
                let norms = Tensor(shape: [total])
                L2Normalize.forward(features.data, norms.data, features.data, rows: total, cols: dim)
                row = 0
                for j in members {
                    let out = Tensor(shape: [jobs[j].count, dim])
                    out.data.update(from: features.data + row * dim, count: jobs[j].count * dim)
                    results[j][e] = out
                    row += jobs[j].count
                }
            }
        }
        for (j, job) in jobs.enumerated() { job.done(.success(results[j])) }
    }
}
