import MoDETensor

/// How a command computes: the thread count for BLAS and parallel loops, and which BLAS library
/// performs GEMM. Unset fields keep the defaults (`MODE_THREADS` or every available core;
/// `MODE_BLAS` or the measured preference, see `BLAS`).
public struct ComputeSettings: Sendable, Equatable {
    public var threads: Int?
    /// `mkl`, `blis`, `openblas` or the path of a CBLAS library.
    public var blas: String?

    public init(threads: Int? = nil, blas: String? = nil) {
        self.threads = threads
        self.blas = blas
    }

    /// Checks the values a user can get wrong.
    public func validate() throws {
        if let threads, threads < 1 { throw ComputeError("--threads must be at least 1, got \(threads)") }
        if let blas, blas.trimmingCharacters(in: .whitespaces).isEmpty { throw ComputeError("--blas must name a library") }
    }

    /// Loads the BLAS library and sets the thread count; returns what is in force.
    @discardableResult
    public func apply() throws -> BLASInfo {
        try validate()
        if let blas { try BLAS.select(blas) }
        if let threads { try BLAS.setThreads(threads) }
        return try BLAS.info()
    }

    /// Sets only the thread count of the parallel loops (for work that never calls BLAS).
    public func applyThreadsOnly() throws {
        try validate()
        if let threads { Parallel.threads = threads }
    }
}

/// A compute setting that cannot be used.
public struct ComputeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
