import CMoDEBLAS
import Foundation

/// Which BLAS library performs GEMM. Chosen once per process, at first use.
public enum BLASBackend: String, Sendable, CaseIterable {
    case mkl, blis, openblas, custom
}

/// What was loaded: the backend, the file, and the thread count in force.
public struct BLASInfo: Sendable, Equatable {
    public var backend: BLASBackend
    public var path: String
    public var threads: Int
}

/// A typed failure to find or load a BLAS library.
public struct BLASLoadError: Error, CustomStringConvertible {
    public var description: String
}

/// Run-time BLAS selection (dlopen). Preference MKL → BLIS → OpenBLAS, overridable with the
/// environment variable `MODE_BLAS` (`mkl`, `blis`, `openblas` or a path to a CBLAS `.so`).
/// MKL is looked for in `MODE_MKL_DIR`, then in `.deps/mkl/lib` of any folder above the running
/// executable or the working directory (where the setup installs it), then on the loader path.
/// Thread count: `MODE_THREADS`, else the cores this process may run on.
public enum BLAS {
    /// Whether `Matmul.gemm` parallelises large products itself (the library runs single-threaded).
    nonisolated(unsafe) public private(set) static var splitsProducts = false
    nonisolated(unsafe) private static var state: Result<BLASInfo, BLASLoadError>?
    /// The library asked for with `select`, in place of `MODE_BLAS`.
    nonisolated(unsafe) private static var requested: String?
    private static let lock = NSLock()

    /// Chooses the library to load (as `MODE_BLAS` does: `mkl`, `blis`, `openblas` or a path),
    /// overriding the environment. Must come before the first use; throws when a different
    /// library is already loaded.
    public static func select(_ choice: String) throws {
        lock.lock()
        defer { lock.unlock() }
        if case .success(let loaded)? = state {
            let same = choice.lowercased() == loaded.backend.rawValue || choice == loaded.path
            if same { return }
            throw BLASLoadError(description: "BLAS \(loaded.backend.rawValue) (\(loaded.path)) is already loaded; cannot switch to \(choice)")
        }
        requested = choice
        state = nil
    }

    /// The loaded backend; loads one on first call. Throws when no BLAS can be loaded.
    public static func info() throws -> BLASInfo {
        lock.lock()
        defer { lock.unlock() }
        if let state { return try state.get() }
        let result = Result { try load() }.mapError { $0 as? BLASLoadError ?? BLASLoadError(description: "\($0)") }
        state = result
        return try result.get()
    }

    /// Loads the BLAS or stops the process with the reason (for call sites that cannot proceed).
    @usableFromInline
    static func ensureLoaded() {
        if mode_blas_loaded() != 0 { return }
        do { _ = try info() } catch { fatalError("no BLAS library could be loaded: \(error)") }
    }

    /// Sets the process-wide BLAS thread count (and the count `Parallel` uses).
    public static func setThreads(_ n: Int) throws {
        let n = max(1, n)
        _ = try info()
        _ = mode_blas_set_threads(Int32(splitsProducts ? 1 : n))
        lock.lock()
        if case .success(var i) = state { i.threads = n; state = .success(i) }
        lock.unlock()
        Parallel.threads = n
    }

    /// Number of cores this process may run on (sched affinity), at least 1.
    public static func availableCores() -> Int {
        let n = Int(mode_affinity_cores())
        if n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Thread count requested by `MODE_THREADS`, else all available cores.
    public static func defaultThreads() -> Int {
        if let s = ProcessInfo.processInfo.environment["MODE_THREADS"], let n = Int(s), n > 0 { return n }
        return availableCores()
    }

    // MARK: loading

    private static func load() throws -> BLASInfo {
        let env = ProcessInfo.processInfo.environment
        let threads = defaultThreads()
        Parallel.threads = threads
        // OpenMP runtimes must not spin long after a GEMM: our own threads need the cores next.
        setenv("KMP_BLOCKTIME", "1", 0)
        setenv("OMP_WAIT_POLICY", "PASSIVE", 0)
        let raw = requested ?? env["MODE_BLAS"] ?? ""
        let choice = raw.trimmingCharacters(in: .whitespaces).lowercased()
        var tried: [String] = []
        func attempt(_ backend: BLASBackend, _ paths: [String]) -> BLASInfo? {
            for path in paths {
                if let info = open(backend, path, threads: threads, tried: &tried) { return info }
            }
            return nil
        }
        switch choice {
        case "":
            for backend in defaultPreference() {
                let paths = backend == .mkl ? mklCandidates(env) : backend == .blis ? blisCandidates : openblasCandidates
                if let i = attempt(backend, paths) { return i }
            }
        case "mkl": if let i = attempt(.mkl, mklCandidates(env)) { return i }
        case "blis": if let i = attempt(.blis, blisCandidates) { return i }
        case "openblas": if let i = attempt(.openblas, openblasCandidates) { return i }
        default:
            let kind: BLASBackend = raw.contains("mkl") ? .mkl : raw.contains("blis") ? .blis
                : raw.contains("openblas") ? .openblas : .custom
            if let i = attempt(kind, [raw]) { return i }
        }
        throw BLASLoadError(description: "\(requested != nil ? "--blas" : "MODE_BLAS")=\(choice.isEmpty ? "(unset)" : choice): no usable BLAS; tried:\n  "
            + tried.joined(separator: "\n  ") + "\nRun the setup (make setup) to install MKL and BLIS.")
    }

    /// The default order: MKL → BLIS → OpenBLAS, except on AMD CPUs with AVX-512, where MKL runs
    /// its AVX2 kernels while BLIS's AVX-512 (skx) kernels are about twice as fast (measured on a
    /// 2-core Zen 5: 1024³ GEMM 213 vs 388 GFLOP/s; CLIP tiny training 465 vs 553 samples/s).
    public static func defaultPreference(cpu: CPUFeatures = .current) -> [BLASBackend] {
        cpu.vendor == "AuthenticAMD" && cpu.avx512f ? [.blis, .mkl, .openblas] : [.mkl, .blis, .openblas]
    }

    private static let blisCandidates = ["libblis.so.4", "libblis.so", "libblis.so.3"]
    private static let openblasCandidates = ["libopenblas.so.0", "libopenblas.so"]

    private static func mklCandidates(_ env: [String: String]) -> [String] {
        var dirs: [String] = []
        if let d = env["MODE_MKL_DIR"] { dirs += [d, d + "/lib"] }
        var starts: [URL] = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for start in starts {
            var u = start.standardizedFileURL
            for _ in 0..<8 {
                dirs.append(u.appendingPathComponent(".deps/mkl/lib").path)
                let parent = u.deletingLastPathComponent()
                if parent.path == u.path { break }
                u = parent
            }
        }
        var out: [String] = []
        for d in dirs {
            for name in ["libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"] {
                let p = d + "/" + name
                if FileManager.default.fileExists(atPath: p), !out.contains(p) { out.append(p) }
            }
        }
        return out + ["libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"]
    }

    private static func open(_ backend: BLASBackend, _ path: String, threads: Int, tried: inout [String]) -> BLASInfo? {
        var err = [CChar](repeating: 0, count: 512)
        switch backend {
        case .mkl:
            setenv("MKL_NUM_THREADS", String(threads), 0)
            // The Intel OpenMP runtime ships beside libmkl_rt; load it first so MKL's threading
            // layer resolves it without LD_LIBRARY_PATH.
            if path.hasPrefix("/") {
                let dir = (path as NSString).deletingLastPathComponent
                let iomp = dir + "/libiomp5.so"
                if FileManager.default.fileExists(atPath: iomp) {
                    _ = mode_blas_preload(iomp, &err, Int32(err.count))
                } else {
                    setenv("MKL_THREADING_LAYER", "GNU", 0)
                }
            }
        case .openblas:
            // Debian's OpenBLAS mis-detects recent CPUs (falls back to generic kernels); its core
            // type must be forced before the library loads. A value set by the user wins.
            setenv("OPENBLAS_CORETYPE", CPUFeatures.current.avx512f ? "SkylakeX" : "Haswell", 0)
            setenv("OPENBLAS_NUM_THREADS", String(threads), 0)
        case .blis:
            setenv("BLIS_NUM_THREADS", String(threads), 0)
            // BLIS 0.9 (Debian) does not recognise AMD Zen 5 and falls back to its generic
            // kernels (about 35 GFLOP/s per core here); its Skylake-X AVX-512 kernels run at about
            // 220. Forced on any AVX-512 CPU unless the user chose (older and newer BLIS both read
            // "skx": 0.9 as the number 0, its id of skx; later versions by name).
            if CPUFeatures.current.avx512f { setenv("BLIS_ARCH_TYPE", "skx", 0) }
        case .custom:
            break
        }
        if mode_blas_open(path, backend == .mkl ? 1 : 0, &err, Int32(err.count)) != 0 {
            tried.append("\(backend.rawValue): \(String(cString: err))")
            return nil
        }
        // BLIS's own threads synchronise at every inner block and stall badly when a core is busy
        // (CLIP tiny training fell from 550 to 36 samples/s with one competing process); it runs
        // single-threaded and `Matmul.gemm` splits large products over our threads instead.
        splitsProducts = backend == .blis && ProcessInfo.processInfo.environment["MODE_BLIS_THREADS"] == nil
        _ = mode_blas_set_threads(Int32(splitsProducts ? 1 : threads))
        return BLASInfo(backend: backend, path: resolvedPath(path), threads: threads)
    }

    /// The file a library name resolved to (from /proc/self/maps), or the name itself.
    private static func resolvedPath(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return name }
        let stem = name.components(separatedBy: ".so").first ?? name
        for line in maps.split(separator: "\n") {
            if let p = line.split(separator: " ", omittingEmptySubsequences: true).last,
               p.hasPrefix("/"), (p as Substring).contains(stem) {
                return String(p)
            }
        }
        return name
    }
}
