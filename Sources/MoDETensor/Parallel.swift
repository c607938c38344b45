import CMoDEBLAS
import Dispatch

/// A parallel-for over index ranges, sized by a process-wide thread count.
public enum Parallel {
    nonisolated(unsafe) private static var _threads: Int = BLAS.defaultThreads()

    /// Threads used by `forEach` (defaults to `MODE_THREADS` or the available cores).
    public static var threads: Int {
        get { _threads }
        set { _threads = max(1, newValue) }
    }

    /// Whether the calling thread is running a chunk of a `forEach`.
    public static var insideRegion: Bool { mode_parallel_depth(0) > 0 }

    /// Splits `0..<n` into contiguous chunks of at least `grain` items and runs `body` on each,
    /// on up to `threads` threads. Runs inline when there is one chunk. `body` must only write
    /// to memory owned by its range.
    @inlinable
    public static func forEach(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        if n <= 0 { return }
        let chunks = min(threads, max(1, n / max(1, grain)))
        if chunks <= 1 {
            body(0..<n)
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = n * c / chunks
            let hi = n * (c + 1) / chunks
            _ = mode_parallel_depth(1)
            if lo < hi { body(lo..<hi) }
            _ = mode_parallel_depth(-1)
        }
    }
}
