import Foundation
import MoDETensor

/// Throughput benchmarks behind `mode bench`. Each takes a typed options struct and returns a
/// `Codable` result whose keys (snake_case) are the peer scripts' keys, so that one result
/// encodes to the same JSON line as the peer's (`JSONLine`). Figures are rounded as reported.
///
/// The BLAS library and thread count are set by the caller (`ComputeSettings.apply()`); the
/// `BLASInfo` it returns is passed in and reported as `blas` and `threads`.
public enum Benchmarks {}

/// A benchmark option out of range.
public struct BenchmarkError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Rounds `x` to `places` decimals for reporting.
func rounded(_ x: Double, _ places: Int = 2) -> Double {
    let p = pow(10.0, Double(places))
    return (x * p).rounded() / p
}
