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

/// What `mode info` reports: the BLAS library in use, threads, cores, and the CPU.
public struct SystemInfo: Codable, Sendable, Equatable {
    public var version: String
    public var blas: String
    public var blasPath: String
    public var blasPreference: [String]
    public var threads: Int
    public var cores: Int
    public var cpu: String
    public var cpuVendor: String
    public var cpuFeatures: [String]

    enum CodingKeys: String, CodingKey {
        case version, blas, blasPath = "blas_path", blasPreference = "blas_preference", threads, cores, cpu
        case cpuVendor = "cpu_vendor", cpuFeatures = "cpu_features"
    }

    /// This machine and process (loads BLAS if it is not loaded yet).
    public static func current() throws -> SystemInfo {
        let blas = try BLAS.info()
        let cpu = CPUFeatures.current
        return SystemInfo(version: MoDEVersion.current, blas: blas.backend.rawValue, blasPath: blas.path,
                          blasPreference: BLAS.defaultPreference().map(\.rawValue), threads: blas.threads, cores: BLAS.availableCores(),
                          cpu: cpu.model, cpuVendor: cpu.vendor, cpuFeatures: cpu.summary)
    }
}
