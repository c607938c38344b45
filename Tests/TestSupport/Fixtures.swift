// Shared helpers for tests that compare against reference fixtures.
//
// A fixture is a safetensors file in a test target's Fixtures/ folder, written by a script in tools/
// (through tools/fixturelib.py, which records the seed and library versions in the file's
// metadata). Load one with `fixture("name")` and compare with `expectClose`.
import Foundation
import Testing
import MoDETensor
import MoDEFormats

/// A missing fixture file.
public struct FixtureNotFound: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "fixture Fixtures/\(name).safetensors not found; generate it with the matching script in tools/" }
}

/// Opens `Fixtures/name.safetensors` from a test target's resource bundle (pass `Bundle.module`).
public func fixture(_ name: String, in bundle: Bundle) throws -> SafeTensorsFile {
    guard let url = bundle.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures") else {
        throw FixtureNotFound(name: name)
    }
    return try SafeTensorsFile(path: url.path)
}

/// Expects `actual` (the shape of `expected`, row-major) to match `expected`.
///
/// Relative error is measured over the whole tensor, not per element:
///     rel = max_i |a_i − e_i| / max(max_i |e_i|, 1e-30)
/// The check passes when rel ≤ `relTol` or max_i |a_i − e_i| ≤ `absTol`. A NaN in either
/// tensor fails unless both hold NaN at that index. On failure the issue names `what` and the
/// worst element: flat and multi-dimensional index, both values, absolute and relative error.
public func expectClose(_ actual: UnsafePointer<Float>, _ expected: Tensor, relTol: Float, absTol: Float = 0,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let n = expected.count
    var worst = -1
    var worstDiff: Float = 0
    var maxExpected: Float = 0
    var nanAt: Int?
    for i in 0..<n {
        let a = actual[i], e = expected.data[i]
        if a.isNaN || e.isNaN {
            if !(a.isNaN && e.isNaN) && nanAt == nil { nanAt = i }
            continue
        }
        maxExpected = max(maxExpected, abs(e))
        let d = abs(a - e)
        // `!(d <= worstDiff)` also catches an infinite difference.
        if worst < 0 || !(d <= worstDiff) { worst = i; worstDiff = d }
    }
    func located(_ i: Int) -> String {
        var rest = i
        var index = [Int](repeating: 0, count: expected.rank)
        for k in stride(from: expected.rank - 1, through: 0, by: -1) where expected.shape[k] > 0 {
            index[k] = rest % expected.shape[k]
            rest /= expected.shape[k]
        }
        return "element \(i) \(index) of \(expected.shape): actual \(actual[i]), expected \(expected.data[i])"
    }
    if let nanAt {
        Issue.record("\(what): NaN mismatch at \(located(nanAt))", sourceLocation: sourceLocation)
        return
    }
    guard worst >= 0 else { return }
    let rel = worstDiff / max(maxExpected, 1e-30)
    if !(rel <= relTol || worstDiff <= absTol) {
        Issue.record("\(what): relative error \(rel) > \(relTol) (abs \(worstDiff), absTol \(absTol)); worst at \(located(worst)), max|expected| \(maxExpected)",
                     sourceLocation: sourceLocation)
    }
}

/// Expects tensor `actual` to have `expected`'s shape and to match it (see the pointer overload).
public func expectClose(_ actual: Tensor, _ expected: Tensor, relTol: Float, absTol: Float = 0,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.shape == expected.shape else {
        Issue.record("\(what): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    expectClose(actual.data, expected, relTol: relTol, absTol: absTol, what, sourceLocation: sourceLocation)
}

/// Expects `actual` (row-major, `expected.count` values) to match `expected` (see the pointer overload).
public func expectClose(_ actual: [Float], _ expected: Tensor, relTol: Float, absTol: Float = 0,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.count == expected.count else {
        Issue.record("\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    guard !actual.isEmpty else { return }
    actual.withUnsafeBufferPointer {
        expectClose($0.baseAddress!, expected, relTol: relTol, absTol: absTol, what, sourceLocation: sourceLocation)
    }
}
