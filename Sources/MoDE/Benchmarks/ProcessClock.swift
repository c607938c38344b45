import Foundation

/// Measurements of the running process for benchmarks: monotonic wall time, CPU time over all
/// threads, and peak resident memory.
public enum ProcessClock {
    /// A monotonic time stamp in nanoseconds.
    @inlinable
    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Seconds elapsed since the time stamp `start` (from `now()`).
    @inlinable
    public static func seconds(since start: UInt64) -> Double { Double(now() - start) / 1e9 }

    /// CPU seconds (user + system) this process has used so far, over all its threads. On a
    /// shared machine, CPU time per unit of work is steadier than wall time.
    public static func cpuSeconds() -> Double {
        let usage = resourceUsage()
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    /// Peak resident set size of this process so far, in MiB.
    public static func peakRSSMiB() -> Double {
        #if os(Linux)
        return Double(resourceUsage().ru_maxrss) / 1024  // KiB
        #else
        return Double(resourceUsage().ru_maxrss) / 1_048_576  // bytes
        #endif
    }

    private static func resourceUsage() -> rusage {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return usage
    }
}
