import Testing
@testable import MoDETensor

@Suite struct ActivationTests {
    /// Inputs covering the interesting range densely, plus the awkward tail lengths.
    static func inputs(_ count: Int, rng: inout SeededRNG) -> Buf<Float> {
        Buf<Float>((0..<count).map { i in i % 3 == 0 ? -8 + 16 * Float(i) / Float(max(1, count - 1)) : rng.nextNormal() * 3 })
    }

    static let counts = awkwardCols + [1000, 2 * Activation.grain + 5]

    @Test(arguments: Activation.allCases)
    func forwardMatchesReference(_ act: Activation) {
        var rng = SeededRNG(seed: 31)
        for n in Self.counts {
            let x = Self.inputs(n, rng: &rng), xd = x.double
            let y = Buf<Float>(repeating: .nan, count: n), ref = Buf<Double>(repeating: 0, count: n)
            act.forward(y.p, x.p, count: n)
            act.forwardReference(ref.p, xd.p, count: n)
            // GELU must match exact-erf GELU to 1e-6 absolute on |x| ≤ 8 (erf within ~1 ulp; the
            // rounding of x·½ and of 1 + erf keeps the result within ~1 ulp of |x| ≤ 8, i.e. ≤ 1e-6).
            // QuickGELU: sigmoid within ~2 ulp, so relative 1e-6 with a 1e-12 floor for tiny negatives.
            switch act {
            case .gelu: expectClose(y.array, ref.array, rel: 0, abs: 1e-6, "gelu n \(n)")
            case .quickGELU: expectClose(y.array, ref.array, rel: 1e-6, abs: 1e-12, "quickGELU n \(n)")
            }
        }
    }

    @Test(arguments: Activation.allCases)
    func backwardMatchesReference(_ act: Activation) {
        var rng = SeededRNG(seed: 32)
        for n in Self.counts {
            let x = Self.inputs(n, rng: &rng), dy = Buf<Float>.randn(n, rng: &rng)
            let xd = x.double, dyd = dy.double
            for accumulate in [false, true] {
                let dx0 = Buf<Float>.randn(n, rng: &rng)
                let dx = Buf<Float>(dx0.array), ref = dx0.double
                act.backward(dx.p, dy.p, x.p, count: n, accumulate: accumulate)
                act.backwardReference(ref.p, dyd.p, xd.p, count: n, accumulate: accumulate)
                // The derivative is within a few ulp of values ≤ ~1.2 (erf, exp, sigmoid each ~1 ulp);
                // times |dy| ≲ 4 and plus dx: absolute 2e-6.
                expectClose(dx.array, ref.array, rel: 1e-6, abs: 2e-6, "\(act) backward n \(n) accumulate \(accumulate)")
            }
        }
    }

    @Test(arguments: Activation.allCases)
    func inPlaceWorks(_ act: Activation) {
        var rng = SeededRNG(seed: 33)
        let n = 37
        let x = Self.inputs(n, rng: &rng), dy = Buf<Float>.randn(n, rng: &rng)
        let y = Buf<Float>(repeating: 0, count: n), dx = Buf<Float>(repeating: 0, count: n)
        act.forward(y.p, x.p, count: n)
        act.backward(dx.p, dy.p, x.p, count: n)
        act.backward(dy.p, dy.p, x.p, count: n)
        act.forward(x.p, x.p, count: n)
        #expect(x.array == y.array)
        #expect(dy.array == dx.array)
    }

    @Test(arguments: Activation.allCases)
    func referenceBackwardMatchesFiniteDifferences(_ act: Activation) {
        var rng = SeededRNG(seed: 34)
        let n = 40
        let x = Buf<Double>((0..<n).map { _ in Double(rng.nextNormal()) * 3 }), w = Buf<Double>.randn(n, rng: &rng)
        let y = Buf<Double>(repeating: 0, count: n)
        let numeric = numericalGradient(x) {
            act.forwardReference(y.p, x.p, count: n)
            return weightedSum(w, y.p)
        }
        let dx = Buf<Double>(repeating: 0, count: n)
        act.backwardReference(dx.p, w.p, x.p, count: n)
        // Central differences, h = 1e-6, Double; second derivatives are O(1): error ~1e-10; 1e-7 allowed.
        expectClose(dx.array, numeric, rel: 0, abs: 1e-7, "\(act) FD")
    }

    @Test func specialValues() {
        let x = Buf<Float>([0, 10, -10, 30, -30, .infinity, -.infinity])
        let y = Buf<Float>(repeating: .nan, count: x.count), d = Buf<Float>(repeating: .nan, count: x.count)
        let ones = Buf<Float>(repeating: 1, count: x.count)
        for act in Activation.allCases {
            act.forward(y.p, x.p, count: x.count)
            act.backward(d.p, ones.p, x.p, count: 3)
            #expect(y[0] == 0, "\(act)(0)")
            #expect(d[0] == 0.5, "\(act)′(0)")  // Φ(0) = sigmoid(0) = ½, and the x·(…) term vanishes
            #expect(y[3] == 30 && y[5] == .infinity, "\(act)(large) = x")
            #expect(y[4] == 0 || abs(y[4]) < 1e-20, "\(act)(−30) ≈ 0: \(y[4])")  // true values ≈ −1e-197, −2e-21
        }
        Activation.gelu.forward(y.p, x.p, count: 3)
        #expect(y[1] == 10)  // erf(10/√2) rounds to 1
        #expect(abs(y[2]) < 1e-22)  // true GELU(−10) ≈ −7.6e-23
    }
}
