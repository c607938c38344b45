import ArgumentParser
import Foundation
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

/// AdamW and its schedule, shared by `mode train` (defaults: `TrainingOptions.defaults`).
struct OptimizerOptions: ParsableArguments {
    @Option(help: "Peak learning rate.") var lr: Float = TrainingOptions.defaults.lr
    @Option(help: "Warm-up steps (linear), then cosine decay to zero.") var warmup = TrainingOptions.defaults.warmup
    @Option(help: "AdamW weight decay (not applied to gains, biases, embeddings of rank < 2 or the logit scale).")
    var wd: Float = TrainingOptions.defaults.weightDecay
    @Option(help: "AdamW beta1.") var beta1: Float = TrainingOptions.defaults.beta1
    @Option(help: "AdamW beta2.") var beta2: Float = TrainingOptions.defaults.beta2
    @Option(help: "AdamW epsilon.") var eps: Float = TrainingOptions.defaults.eps
    @Option(help: "Clip the global gradient norm to this value (default: no clipping, as open_clip).") var gradClipNorm: Float?

    /// Sets these fields of `o`.
    func apply(to o: inout TrainingOptions) {
        o.lr = lr
        o.warmup = warmup
        o.weightDecay = wd
        o.beta1 = beta1
        o.beta2 = beta2
        o.eps = eps
        o.gradClipNorm = gradClipNorm
    }
}

/// Prints `value` as one JSON line (sorted keys) on standard output.
func printJSONLine<T: Encodable>(_ value: T) throws {
    print(String(decoding: try JSONFile.data(value, pretty: false), as: UTF8.self), terminator: "")
}

/// Runs a library options check, reporting its failure as a usage error.
func validating(_ check: () throws -> Void) throws {
    do { try check() } catch { throw ValidationError("\(error)") }
}

/// Writes `message` and a newline to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

extension RoutingMethod: ExpressibleByArgument {}

/// The constants of the routing rules, shared by `mode route` and `mode ensemble`
/// (defaults: `RoutingOptions()`, the paper's and the reference code's values).
struct RoutingParameters: ParsableArguments {
    @Option(help: "The paper's λ in A = exp(−‖e − c‖² / λ).") var lambda = RoutingOptions().lambda
    @Option(help: "Reference method: the scale in (a − d)·scale·log10(max(10, |L| − 200)).")
    var referenceScale = RoutingOptions().referenceScale
    @Option(help: "Reference method: the softmax temperature T.") var referenceTemperature = RoutingOptions().referenceTemperature
    @Flag(help: "Unit-normalise the fine centres before distances (not in the method; off by default).")
    var renormaliseCentres = false

    /// The options for `method`.
    func options(_ method: RoutingMethod) -> RoutingOptions {
        var o = RoutingOptions(method: method)
        o.lambda = lambda
        o.referenceScale = referenceScale
        o.referenceTemperature = referenceTemperature
        o.renormaliseCentres = renormaliseCentres
        return o
    }

    func validate() throws {
        do { try options(.paper).validate() } catch { throw ValidationError("\(error)") }
    }
}

/// Writes `text` to standard error (after flushing standard output, so that the two interleave
/// in order on a terminal).
func printToStandardError(_ text: String) {
    fflush(stdout)
    FileHandle.standardError.write(Data(text.utf8))
}
