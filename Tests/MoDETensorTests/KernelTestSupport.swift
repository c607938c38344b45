import Testing
@testable import MoDETensor

/// A heap buffer for tests: a stable pointer that lives as long as the object.
final class Buf<T> {
    let p: UnsafeMutablePointer<T>
    let count: Int

    init(_ values: [T]) {
        count = values.count
        p = .allocate(capacity: max(1, values.count))
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { p.initialize(from: b, count: count) } }
    }

    convenience init(repeating v: T, count: Int) { self.init([T](repeating: v, count: count)) }

    deinit { p.deallocate() }

    var array: [T] { Array(UnsafeBufferPointer(start: p, count: count)) }
    subscript(i: Int) -> T {
        get { p[i] }
        set { p[i] = newValue }
    }
}

extension Buf where T == Float {
    /// Standard-normal entries times `std`.
    static func randn(_ count: Int, std: Float = 1, rng: inout SeededRNG) -> Buf<Float> {
        Buf((0..<count).map { _ in rng.nextNormal() * std })
    }

    /// The entries widened to Double, in a new buffer (bind it to a local: a temporary's pointer
    /// dangles once the temporary is released).
    var double: Buf<Double> { Buf<Double>(array.map(Double.init)) }
}

extension Buf where T == Double {
    /// Standard-normal entries times `std`.
    static func randn(_ count: Int, std: Double = 1, rng: inout SeededRNG) -> Buf<Double> {
        Buf((0..<count).map { _ in Double(rng.nextNormal()) * std })
    }
}

/// Expects |actual − expected| ≤ abs + rel · |expected| elementwise; reports the worst element.
func expectClose<A: BinaryFloatingPoint, E: BinaryFloatingPoint>(
    _ actual: [A], _ expected: [E], rel: Double, abs absTol: Double = 0, _ what: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what()): \(actual.count) vs \(expected.count) elements",
            sourceLocation: sourceLocation)
    var worst = 0.0, at = -1
    for i in 0..<min(actual.count, expected.count) {
        let a = Double(actual[i]), e = Double(expected[i])
        if a == e { continue }
        let excess = abs(a - e) / (absTol + rel * abs(e))
        if !(excess <= worst) { worst = excess; at = i }  // NaN counts as worst
        if a.isNaN != e.isNaN { worst = .infinity; at = i }
    }
    if at >= 0 {
        #expect(worst <= 1, "\(what()): at \(at) got \(actual[at]), expected \(expected[at]) (\(worst)× the tolerance)",
                sourceLocation: sourceLocation)
    }
}

/// Central finite differences of the scalar function f at x, step h (in Double).
func numericalGradient(_ x: Buf<Double>, h: Double = 1e-6, _ f: () -> Double) -> [Double] {
    var g = [Double](repeating: 0, count: x.count)
    for i in 0..<x.count {
        let v = x[i]
        x[i] = v + h
        let fp = f()
        x[i] = v - h
        let fm = f()
        x[i] = v
        g[i] = (fp - fm) / (2 * h)
    }
    return g
}

/// Σ w ⊙ y in Double: the scalar whose gradient with respect to y is w.
func weightedSum<T: BinaryFloatingPoint>(_ w: Buf<Double>, _ y: UnsafePointer<T>) -> Double {
    var s = 0.0
    for i in 0..<w.count { s += w[i] * Double(y[i]) }
    return s
}

/// The awkward row lengths every row-wise kernel is tested on (1, below, just above and well above
/// the 16-wide vector).
let awkwardCols = [1, 7, 17, 33, 129]
