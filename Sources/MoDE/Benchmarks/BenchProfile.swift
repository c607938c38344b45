import Foundation
import MoDETensor

/// Where a benchmark's time goes (`--profile`): the profiler's regions and GEMM shapes per step,
/// and the model FLOP utilisation (MFU): nominal model FLOPs (`ModelFLOPs`) / time / the fp32
/// GEMM peak. Encoded as the result's optional `profile` field.
public struct BenchProfile: Codable, Sendable, Equatable {
    /// Profiled steps (the figures below are per step).
    public var steps: Int
    /// The fp32 GEMM peak the percentages refer to, GFLOP/s.
    public var peakGflops: Double
    /// Whether `peakGflops` was measured (`Benchmarks.gemmPeak`) or given.
    public var peakMeasured: Bool
    /// Wall time of one step, ms: the top-level regions together.
    public var stepMs: Double
    /// Model FLOPs of the whole step, over its time, over the peak.
    public var mfu: Double
    /// Each part whose model FLOPs are known (a top-level region): its own MFU.
    public var work: [Work]
    public var regions: [Region]
    public var gemms: [GEMM]

    public struct Work: Codable, Sendable, Equatable {
        public var region: String
        public var gflopPerStep: Double
        public var msPerStep: Double
        public var mfu: Double

        enum CodingKeys: String, CodingKey {
            case region, mfu
            case gflopPerStep = "gflop_per_step", msPerStep = "ms_per_step"
        }
    }

    public struct Region: Codable, Sendable, Equatable {
        /// Names from the top, joined by "/".
        public var path: String
        public var callsPerStep: Double
        /// Inclusive and exclusive wall time per step, ms (summed over threads when `threaded`).
        public var msPerStep: Double
        public var exclusiveMsPerStep: Double
        /// msPerStep as a share of the step (of the step × threads when `threaded`), %.
        public var percent: Double
        public var threaded: Bool

        enum CodingKeys: String, CodingKey {
            case path, percent, threaded
            case callsPerStep = "calls_per_step", msPerStep = "ms_per_step", exclusiveMsPerStep = "exclusive_ms_per_step"
        }
    }

    public struct GEMM: Codable, Sendable, Equatable {
        public var m, n, k: Int
        public var transA, transB: Bool
        /// Products per call (`Matmul.gemmBatched`); 1 for `gemm`.
        public var batch: Int
        /// Called from a worker of a parallel region: the product ran on one thread, and its
        /// share of the peak is taken against peak / threads.
        public var threaded: Bool
        public var callsPerStep: Double
        public var msPerStep: Double
        public var gflops: Double
        public var percentOfPeak: Double
        /// msPerStep as a share of the step (of the step × threads when `threaded`), %.
        public var percentOfStep: Double

        enum CodingKeys: String, CodingKey {
            case m, n, k, batch, threaded, gflops
            case transA = "trans_a", transB = "trans_b", callsPerStep = "calls_per_step", msPerStep = "ms_per_step"
            case percentOfPeak = "percent_of_peak", percentOfStep = "percent_of_step"
        }
    }

    enum CodingKeys: String, CodingKey {
        case steps, mfu, work, regions, gemms
        case peakGflops = "peak_gflops", peakMeasured = "peak_measured", stepMs = "step_ms"
    }

    /// The summary of `record` over `steps` steps. `work` names top-level regions and their
    /// model FLOPs per step; `threads` is the compute thread count (for threaded shares).
    public init(_ record: ProfileRecord, steps: Int, work: [(region: String, flopsPerStep: Double)],
                peakGflops: Double, peakMeasured: Bool, threads: Int) {
        let s = Double(max(1, steps)), ms = { (ns: UInt64) in Double(ns) / 1e6 / s }
        let stepNs = record.regions.filter { $0.depth == 0 && !$0.threaded }.reduce(UInt64(0)) { $0 + $1.inclusive }
        let stepMs = ms(stepNs)
        let threads = Double(max(1, threads))
        func share(_ x: Double, threaded: Bool) -> Double { stepMs > 0 ? x / (stepMs * (threaded ? threads : 1)) * 100 : 0 }
        func mfu(_ flops: Double, _ msPerStep: Double) -> Double {
            msPerStep > 0 && peakGflops > 0 ? flops / (msPerStep / 1e3) / (peakGflops * 1e9) : 0
        }
        self.steps = steps
        self.peakGflops = rounded(peakGflops, 1)
        self.peakMeasured = peakMeasured
        self.stepMs = rounded(stepMs, 3)
        self.regions = record.regions.map {
            Region(path: $0.path, callsPerStep: rounded(Double($0.calls) / s, 2), msPerStep: rounded(ms($0.inclusive), 3),
                   exclusiveMsPerStep: rounded(ms($0.exclusive), 3), percent: rounded(share(ms($0.inclusive), threaded: $0.threaded), 1),
                   threaded: $0.threaded)
        }
        self.gemms = record.gemms.map { g in
            let t = ms(g.nanoseconds), calls = Double(g.calls) / s
            let rate = t > 0 ? g.shape.flops * calls / (t / 1e3) / 1e9 : 0
            let peak = g.shape.threaded ? peakGflops / threads : peakGflops
            return GEMM(m: g.shape.m, n: g.shape.n, k: g.shape.k, transA: g.shape.transA, transB: g.shape.transB,
                        batch: g.shape.batch, threaded: g.shape.threaded, callsPerStep: rounded(calls, 2), msPerStep: rounded(t, 3),
                        gflops: rounded(rate, 1), percentOfPeak: rounded(peak > 0 ? rate / peak * 100 : 0, 1),
                        percentOfStep: rounded(share(t, threaded: g.shape.threaded), 1))
        }
        self.work = work.map { w in
            let t = record.region(w.region).map { ms($0.inclusive) } ?? 0
            return Work(region: w.region, gflopPerStep: rounded(w.flopsPerStep / 1e9, 3), msPerStep: rounded(t, 3),
                        mfu: rounded(mfu(w.flopsPerStep, t), 4))
        }
        let flops = work.reduce(0) { $0 + $1.flopsPerStep }
        let workMs = work.reduce(0.0) { sum, w in sum + (record.region(w.region).map { ms($0.inclusive) } ?? 0) }
        self.mfu = rounded(mfu(flops, workMs), 4)
    }

    /// Human-readable tables: the regions, the `gemmRows` slowest GEMM shapes (the JSON field
    /// has them all) and the MFU.
    public func tables(gemmRows: Int = 30) -> String {
        func f(_ x: Double, _ p: Int = 2) -> String { String(format: "%.\(p)f", x) }
        var out = "profile: \(steps) step(s), \(f(stepMs)) ms per step; GEMM peak \(f(peakGflops, 1)) GFLOP/s"
            + (peakMeasured ? " (measured: 1024³, best of 10)" : " (given)") + "\n\n"
        var rows = [["region", "calls/step", "ms/step", "excl ms", "% of step"]]
        for r in regions {
            let depth = r.path.split(separator: "/").count - 1
            let name = String(repeating: "  ", count: depth) + (r.path.split(separator: "/").last.map(String.init) ?? r.path)
            rows.append([name + (r.threaded ? " *" : ""), f(r.callsPerStep, 1), f(r.msPerStep), f(r.exclusiveMsPerStep), f(r.percent, 1)])
        }
        out += TextTable.format(rows)
        if regions.contains(where: \.threaded) {
            out += "* entered on worker threads: times summed over them, % of (step × threads)\n"
        }
        rows = [["gemm m×n×k", "calls/step", "ms/step", "GFLOP/s", "% of peak", "% of step"]]
        let slowest = gemms.sorted(by: { $0.msPerStep > $1.msPerStep })
        for g in slowest.prefix(gemmRows) {
            let shape = (g.batch > 1 ? "\(g.batch)·" : "") + "\(g.m)×\(g.n)×\(g.k) \(g.transA ? "Aᵀ" : "A")\(g.transB ? "Bᵀ" : "B")"
            rows.append([shape + (g.threaded ? " *" : ""), f(g.callsPerStep, 1), f(g.msPerStep), f(g.gflops, 1),
                         f(g.percentOfPeak, 1), f(g.percentOfStep, 1)])
        }
        let gemmMs = gemms.filter { !$0.threaded }.reduce(0) { $0 + $1.msPerStep }
        let workerMs = gemms.filter(\.threaded).reduce(0) { $0 + $1.msPerStep }
        if slowest.count > gemmRows {
            let rest = slowest.dropFirst(gemmRows).reduce(0) { $0 + $1.msPerStep }
            rows.append(["… \(slowest.count - gemmRows) more shapes", "", f(rest), "", "", ""])
        }
        out += "\n" + TextTable.format(rows)
        if gemms.contains(where: \.threaded) {
            out += "* called on worker threads (one thread each): % of peak / threads, % of (step × threads)\n"
        }
        out += "GEMM on the calling thread: \(f(gemmMs)) ms of \(f(stepMs)) ms per step (\(f(stepMs > 0 ? gemmMs / stepMs * 100 : 0, 1))%)\n"
        if workerMs > 0 { out += "GEMM on worker threads: \(f(workerMs)) ms per step, summed over them\n" }
        out += "\n"
        for w in work {
            out += "MFU \(w.region): \(f(w.gflopPerStep, 3)) GFLOP per step in \(f(w.msPerStep)) ms = \(f(w.mfu * 100, 1))% of peak\n"
        }
        out += "MFU (whole step): \(f(mfu * 100, 1))%\n"
        return out
    }
}

extension Benchmarks {
    /// The fp32 GEMM peak for MFU: `Benchmarks.gemm` at 1024³ on the current threads and
    /// library, the best of 10 timed calls (on a shared machine the best call is the one least
    /// disturbed by other work; the median can fall below what the profiled GEMMs reach).
    public static func gemmPeak(blas: BLASInfo) throws -> Double {
        var o = BenchGEMMOptions()
        o.repeats = 10
        return try gemm(o, blas: blas).gflopsBest
    }

    /// Records `body` (one profiled pass of `steps` steps) and summarises it; the peak is
    /// `peakGflops` when given, else measured.
    static func profiled(steps: Int, work: [(region: String, flopsPerStep: Double)], peakGflops: Double?,
                        blas: BLASInfo, _ body: () throws -> Void) throws -> BenchProfile {
        let peak = try peakGflops ?? gemmPeak(blas: blas)
        Profiler.start()
        do { try body() } catch {
            Profiler.stop()
            throw error
        }
        return BenchProfile(Profiler.stop(), steps: steps, work: work, peakGflops: peak, peakMeasured: peakGflops == nil,
                            threads: Parallel.threads)
    }
}
