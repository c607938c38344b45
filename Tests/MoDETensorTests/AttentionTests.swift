import Testing
import TestSupport
@testable import MoDETensor

/// Expects max_i |actual_i − expected_i| ≤ tol · max_i |expected_i| (the shared `expectClose`'s
/// measure, in Double for the Double-only checks).
private func expectCloseDoubles(_ actual: [Double], _ expected: [Double], tol: Double, _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) vs \(expected.count) values", sourceLocation: sourceLocation)
    let scale = expected.reduce(0) { max($0, abs($1)) }
    var worst = 0.0, at = -1
    for i in 0..<min(actual.count, expected.count) {
        let d = abs(actual[i] - expected[i])
        if d.isNaN { worst = .nan; at = i; break }
        if d > worst { worst = d; at = i }
    }
    let rel = worst / max(scale, .leastNormalMagnitude)
    #expect(rel <= tol, "\(what): relative error \(rel) at \(at) > \(tol)", sourceLocation: sourceLocation)
}

private struct Shape: CustomStringConvertible {
    var b, t, h, d: Int
    var causal: Bool
    var c: Int { h * d }
    var description: String { "B\(b) T\(t) H\(h) D\(d) causal \(causal)" }
}

/// Runs the Double reference forward: (out, probs).
private func referenceForward(_ qkv: [Double], _ s: Shape) -> ([Double], [Double]) {
    var out = [Double](repeating: 0, count: s.b * s.t * s.c)
    var probs = [Double](repeating: 0, count: s.b * s.h * s.t * s.t)
    out.withUnsafeMutableBufferPointer { o in
        probs.withUnsafeMutableBufferPointer { p in
            qkv.withUnsafeBufferPointer { x in
                Attention.forwardReference(o.baseAddress!, p.baseAddress!, x.baseAddress!, batch: s.b, tokens: s.t,
                                           heads: s.h, headDim: s.d, causal: s.causal)
            }
        }
    }
    return (out, probs)
}

/// Runs the Double reference backward: dqkv.
private func referenceBackward(_ dout: [Double], _ qkv: [Double], _ probs: [Double], _ s: Shape) -> [Double] {
    var dqkv = [Double](repeating: .nan, count: qkv.count)
    dqkv.withUnsafeMutableBufferPointer { g in
        Attention.backwardReference(g.baseAddress!, dout, qkv, probs, batch: s.b, tokens: s.t, heads: s.h,
                                    headDim: s.d, causal: s.causal)
    }
    return dqkv
}

private func doubles(_ t: Tensor) -> [Double] { t.array.map(Double.init) }

/// Double values rounded to a Float tensor of `shape`.
private func floats(_ v: [Double], _ shape: [Int]) -> Tensor { Tensor(shape: shape, values: v.map { Float($0) }) }

/// Kernel forward on a Float tensor: (out, probs).
private func kernelForward(_ qkv: Tensor, _ s: Shape) -> (Tensor, Tensor) {
    let out = Tensor(shape: [s.b, s.t, s.c], repeating: .nan)
    let probs = Tensor(shape: [s.b, s.h, s.t, s.t], repeating: .nan)
    Attention.forward(out.data, probs.data, qkv.data, batch: s.b, tokens: s.t, heads: s.h, headDim: s.d, causal: s.causal)
    return (out, probs)
}

@Suite struct AttentionTests {
    @Test func kernelMatchesReference() {
        var rng = SeededRNG(seed: 7)
        var shapes: [Shape] = []
        for t in [1, 5, 17] {
            for h in [1, 3] {
                for causal in [false, true] { shapes.append(Shape(b: 2, t: t, h: h, d: 4, causal: causal)) }
            }
        }
        // Rows longer than one and two SIMD blocks, a single (batch, head) pair (runs inline), D = 1.
        shapes += [Shape(b: 1, t: 33, h: 2, d: 8, causal: true), Shape(b: 3, t: 40, h: 1, d: 16, causal: false),
                   Shape(b: 1, t: 9, h: 1, d: 5, causal: false), Shape(b: 2, t: 6, h: 2, d: 1, causal: true)]
        for s in shapes {
            let qkv = Tensor.randn([s.b, s.t, 3 * s.c], rng: &rng)
            let dout = Tensor.randn([s.b, s.t, s.c], rng: &rng)
            let (out, probs) = kernelForward(qkv, s)
            let dqkv = Tensor(shape: qkv.shape, repeating: .nan)
            Attention.backward(dqkv.data, dout.data, qkv.data, probs.data, batch: s.b, tokens: s.t, heads: s.h,
                               headDim: s.d, causal: s.causal)
            let (rOut, rProbs) = referenceForward(doubles(qkv), s)
            let rD = referenceBackward(doubles(dout), doubles(qkv), rProbs, s)
            // Float32 kernel vs Double reference: sums of at most 40 terms of O(1) values and a
            // polynomial exp (≤ 2 ulp) stay within a few hundred ulp of the tensor's scale.
            expectClose(out, floats(rOut, out.shape), relTol: 1e-5, "out \(s)")
            expectClose(probs, floats(rProbs, probs.shape), relTol: 1e-5, "probs \(s)")
            // Backward chains three more products and a difference of row sums: 1e-4.
            expectClose(dqkv, floats(rD, dqkv.shape), relTol: 1e-4, "dqkv \(s)")
        }
    }

    /// One query per sequence: the kernel against its Double reference, and against the rows of
    /// the full forward (queries taken from qkv; keys limited as the causal mask would).
    @Test func selectedQueriesMatchReferenceAndFullForward() {
        let s = Shape(b: 3, t: 7, h: 2, d: 5, causal: true)
        var rng = SeededRNG(seed: 17)
        let qkv = Tensor.randn([s.b, s.t, 3 * s.c], rng: &rng)
        let positions = [6, 0, 3]
        let valid = positions.map { $0 + 1 }
        let q = Tensor(shape: [s.b, s.c])
        for (b, p) in positions.enumerated() { (q.data + b * s.c).update(from: qkv.data + (b * s.t + p) * 3 * s.c, count: s.c) }
        let out = Tensor(shape: [s.b, s.c])
        valid.withUnsafeBufferPointer {
            Attention.forwardSelected(out.data, nil, q.data, qkv.data, valid: $0.baseAddress!, batch: s.b, tokens: s.t, heads: s.h, headDim: s.d)
        }
        var ref = [Double](repeating: 0, count: s.b * s.c)
        let q64 = q.array.map(Double.init), qkv64 = qkv.array.map(Double.init)
        valid.withUnsafeBufferPointer { v in
            ref.withUnsafeMutableBufferPointer { o in
                Attention.forwardSelectedReference(o.baseAddress!, q64, qkv64, valid: v.baseAddress!, batch: s.b, tokens: s.t,
                                                   heads: s.h, headDim: s.d)
            }
        }
        // Float32 dot products of length 5–7 against Double: rel 1e-5.
        expectCloseDoubles(out.array.map(Double.init), ref, tol: 1e-5, "selected vs reference")
        let (full, _) = referenceForward(qkv64, s)
        var rows: [Double] = []
        for (b, p) in positions.enumerated() { rows += full[((b * s.t + p) * s.c)..<((b * s.t + p + 1) * s.c)] }
        // The same values computed another way in Double: rel 1e-12.
        expectCloseDoubles(ref, rows, tol: 1e-12, "reference vs full forward rows")
    }

    /// backwardSelected against its Double reference, and the reference against finite
    /// differences of forwardSelectedReference.
    @Test func selectedBackwardMatchesReferenceAndFiniteDifferences() {
        let (b, t, h, d) = (2, 5, 2, 3)
        let c = h * d
        var rng = SeededRNG(seed: 23)
        let qkv = Tensor.randn([b, t, 3 * c], rng: &rng), q = Tensor.randn([b, c], rng: &rng)
        let dout = Tensor.randn([b, c], rng: &rng)
        let valid = [5, 3]
        let out = Tensor(shape: [b, c]), probs = Tensor(shape: [b, h, t])
        let dq = Tensor(shape: [b, c]), dqkv = Tensor(shape: [b, t, 3 * c], repeating: 7)
        valid.withUnsafeBufferPointer { v in
            Attention.forwardSelected(out.data, probs.data, q.data, qkv.data, valid: v.baseAddress!, batch: b, tokens: t, heads: h, headDim: d)
            Attention.backwardSelected(dq.data, dqkv.data, dout.data, q.data, qkv.data, probs.data, valid: v.baseAddress!,
                                       batch: b, tokens: t, heads: h, headDim: d)
        }
        let q64 = q.array.map(Double.init), qkv64 = qkv.array.map(Double.init), dout64 = dout.array.map(Double.init)
        var rdq = [Double](repeating: 0, count: b * c), rdqkv = [Double](repeating: 0, count: b * t * 3 * c)
        valid.withUnsafeBufferPointer { v in
            Attention.backwardSelectedReference(&rdq, &rdqkv, dout64, q64, qkv64, valid: v.baseAddress!, batch: b, tokens: t,
                                                heads: h, headDim: d)
        }
        // Float32 against Double on values of size ~1: rel 1e-5. The q columns are not written.
        expectCloseDoubles(dq.array.map(Double.init), rdq, tol: 1e-5, "dq")
        var kv: [Double] = [], rkv: [Double] = []
        for r in 0..<(b * t) {
            #expect(Array(dqkv.array[(r * 3 * c)..<(r * 3 * c + c)]) == [Float](repeating: 7, count: c))
            kv += dqkv.array[(r * 3 * c + c)..<((r + 1) * 3 * c)].map(Double.init)
            rkv += rdqkv[(r * 3 * c + c)..<((r + 1) * 3 * c)]
        }
        expectCloseDoubles(kv, rkv, tol: 1e-5, "dk, dv")
        // Finite differences of Σ dout ⊙ out in Double (central, h = 1e-6: error ~1e-9).
        func loss(_ q: [Double], _ x: [Double]) -> Double {
            var o = [Double](repeating: 0, count: b * c)
            valid.withUnsafeBufferPointer { v in
                Attention.forwardSelectedReference(&o, q, x, valid: v.baseAddress!, batch: b, tokens: t, heads: h, headDim: d)
            }
            return zip(o, dout64).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let eps = 1e-6
        for i in 0..<(b * c) {
            var up = q64, down = q64
            up[i] += eps; down[i] -= eps
            #expect(abs((loss(up, qkv64) - loss(down, qkv64)) / (2 * eps) - rdq[i]) < 1e-7, "dq \(i)")
        }
        for i in stride(from: 0, to: b * t * 3 * c, by: 1) where i % (3 * c) >= c {
            var up = qkv64, down = qkv64
            up[i] += eps; down[i] -= eps
            #expect(abs((loss(q64, up) - loss(q64, down)) / (2 * eps) - rdqkv[i]) < 1e-7, "dqkv \(i)")
        }
    }

    @Test func referenceBackwardMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 11)
        for s in [Shape(b: 2, t: 4, h: 2, d: 3, causal: false), Shape(b: 1, t: 5, h: 3, d: 2, causal: true),
                  Shape(b: 1, t: 1, h: 1, d: 2, causal: true)] {
            let qkv = (0..<(s.b * s.t * 3 * s.c)).map { _ in Double(rng.nextNormal()) }
            let w = (0..<(s.b * s.t * s.c)).map { _ in Double(rng.nextNormal()) }
            func loss(_ x: [Double]) -> Double { zip(referenceForward(x, s).0, w).reduce(0) { $0 + $1.0 * $1.1 } }
            let analytic = referenceBackward(w, qkv, referenceForward(qkv, s).1, s)
            var numeric = [Double](repeating: 0, count: qkv.count)
            let eps = 1e-5
            for i in 0..<qkv.count {
                var plus = qkv, minus = qkv
                plus[i] += eps
                minus[i] -= eps
                numeric[i] = (loss(plus) - loss(minus)) / (2 * eps)
            }
            // Central difference in Double: truncation O(eps²) ≈ 1e-10, rounding ≈ 1e-16 / eps ≈ 1e-11.
            expectCloseDoubles(analytic, numeric, tol: 1e-7, "FD \(s)")
        }
    }

    @Test func causalOutputIgnoresLaterTokens() {
        var rng = SeededRNG(seed: 3)
        let s = Shape(b: 2, t: 9, h: 2, d: 4, causal: true)
        let qkv = Tensor.randn([s.b, s.t, 3 * s.c], rng: &rng)
        let (out, _) = kernelForward(qkv, s)
        for i in [0, 4, 7] {
            let changed = qkv.copy()
            for b in 0..<s.b {
                for t in (i + 1)..<s.t {
                    for c in 0..<(3 * s.c) { changed[(b * s.t + t) * 3 * s.c + c] = rng.nextNormal() * 3 }
                }
            }
            let (out2, _) = kernelForward(changed, s)
            for b in 0..<s.b {
                for t in 0...i {
                    for c in 0..<s.c {
                        let k = (b * s.t + t) * s.c + c
                        // Exact: rows ≤ i never read later tokens; later ones enter only as
                        // products with probabilities that are exactly 0.
                        #expect(out[k] == out2[k], "i \(i) b \(b) t \(t) c \(c)")
                    }
                }
            }
        }
    }

    @Test func identicalKeysAverageValues() {
        var rng = SeededRNG(seed: 5)
        for causal in [false, true] {
            let s = Shape(b: 2, t: 19, h: 3, d: 4, causal: causal)
            let qkv = Tensor.randn([s.b, s.t, 3 * s.c], rng: &rng)
            for b in 0..<s.b {
                for t in 1..<s.t {
                    for c in s.c..<(2 * s.c) { qkv[(b * s.t + t) * 3 * s.c + c] = qkv[b * s.t * 3 * s.c + c] }
                }
            }
            let (out, probs) = kernelForward(qkv, s)
            for b in 0..<s.b {
                for i in 0..<s.t {
                    let n = causal ? i + 1 : s.t
                    for c in 0..<s.c {
                        var mean = 0.0
                        for j in 0..<n { mean += Double(qkv[(b * s.t + j) * 3 * s.c + 2 * s.c + c]) }
                        mean /= Double(n)
                        // Equal scores give probabilities 1/n up to rounding; values are O(1).
                        #expect(abs(Double(out[(b * s.t + i) * s.c + c]) - mean) <= 1e-5, "causal \(causal) b \(b) i \(i) c \(c)")
                    }
                }
            }
            // Rows of probs sum to one; masked entries are exactly zero.
            for row in 0..<(s.b * s.h * s.t) {
                let i = row % s.t
                var sum = 0.0
                for j in 0..<s.t {
                    let p = probs[row * s.t + j]
                    if causal && j > i { #expect(p == 0) }
                    sum += Double(p)
                }
                #expect(abs(sum - 1) <= 1e-5) // Float rounding of ≤ 19 terms
            }
        }
    }
}

import Foundation
