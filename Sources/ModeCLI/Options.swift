import ArgumentParser
import MoDE

/// `--threads` and `--blas`, shared by every command that computes.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads (BLAS and parallel loops); default: MODE_THREADS or all available cores.")
    var threads: Int?
    @Option(help: "BLAS library: mkl, blis, openblas or the path of a CBLAS library; default: MODE_BLAS or the fastest measured for this CPU (see mode info).")
    var blas: String?

    var settings: ComputeSettings { ComputeSettings(threads: threads, blas: blas) }

    func validate() throws {
        do { try settings.validate() } catch { throw ValidationError("\(error)") }
    }

    /// Loads BLAS and sets the thread count; returns what is in force.
    @discardableResult
    func apply() throws -> BLASInfo { try settings.apply() }
}
