import Foundation
import Testing
@testable import MoDETensor

@Suite struct CrossEntropyTests {
    @Test(arguments: awkwardCols)
    func matchesReference(classes: Int) {
        var rng = SeededRNG(seed: 61)
        // Enough rows of 129 to split into uneven parallel chunks (the split is the same for any width).
        for rows in classes == 129 ? [1, 5, 2 * rowGrain(classes) + 3] : [1, 5] {
            let logits = Buf<Float>.randn(rows * classes, std: 4, rng: &rng)
            let targets = Buf<Int32>((0..<rows).map { _ in Int32(rng.nextInt(classes)) })
            let probs = Buf<Float>(repeating: .nan, count: rows * classes)
            let loss = CrossEntropy.forward(probs.p, logits.p, targets: targets.p, rows: rows, classes: classes)
            let ld = logits.double, pr = Buf<Double>(repeating: 0, count: rows * classes)
            let lossRef = CrossEntropy.forwardReference(pr.p, ld.p, targets: targets.p, rows: rows, classes: classes)
            // Loss: log-sum-exp in Float (≲ 1e-6 relative per row), averaged in Double: 2e-6 relative
            // plus 1e-7 absolute (a loss near 0 when one class dominates).
            #expect(abs(Double(loss) - lossRef) <= 2e-6 * lossRef + 1e-7, "loss rows \(rows) classes \(classes): \(loss) vs \(lossRef)")
            // Probabilities as the softmax tests.
            expectClose(probs.array, pr.array, rel: 4e-6, "probs rows \(rows) classes \(classes)")
            let d = Buf<Float>(repeating: .nan, count: rows * classes), dr = Buf<Double>(repeating: 0, count: rows * classes)
            CrossEntropy.backward(d.p, probs.p, targets: targets.p, rows: rows, classes: classes, scale: 0.5)
            let pd = probs.double
            CrossEntropy.backwardReference(dr.p, pd.p, targets: targets.p, rows: rows, classes: classes, scale: 0.5)
            // (p − onehot) · s with one Float rounding each: relative 1e-6.
            expectClose(d.array, dr.array, rel: 1e-6, "dlogits rows \(rows) classes \(classes)")
            // In place: probs overwritten by dlogits, logits by probs.
            CrossEntropy.backward(probs.p, probs.p, targets: targets.p, rows: rows, classes: classes, scale: 0.5)
            #expect(probs.array == d.array)
            let again = CrossEntropy.forward(logits.p, logits.p, targets: targets.p, rows: rows, classes: classes)
            #expect(again == loss)
        }
    }

    @Test func invariants() {
        var rng = SeededRNG(seed: 62)
        let rows = 4, classes = 10
        // Equal logits: loss = log(classes), each gradient row sums to 0.
        let flat = Buf<Float>(repeating: 2.5, count: rows * classes), probs = Buf<Float>(repeating: 0, count: rows * classes)
        let targets = Buf<Int32>([0, 3, 9, 3])
        let loss = CrossEntropy.forward(probs.p, flat.p, targets: targets.p, rows: rows, classes: classes)
        #expect(abs(Double(loss) - Foundation.log(10.0)) <= 1e-6)  // one Float log, ~1 ulp of 2.3
        // Huge logit gaps: no overflow; the loss is the gap (to Float precision of ~1e4: 1e-3).
        let big = Buf<Float>.randn(rows * classes, rng: &rng)
        for r in 0..<rows { big[r * classes + (Int(targets[r]) + 1) % classes] = 10_000 }
        let bigLoss = CrossEntropy.forward(probs.p, big.p, targets: targets.p, rows: rows, classes: classes)
        var gap = 0.0
        for r in 0..<rows { gap += 10_000 - Double(big[r * classes + Int(targets[r])]) }
        #expect(bigLoss.isFinite && abs(Double(bigLoss) - gap / Double(rows)) <= 1e-3, "\(bigLoss)")
        let d = Buf<Float>(repeating: 0, count: rows * classes)
        CrossEntropy.backward(d.p, probs.p, targets: targets.p, rows: rows, classes: classes, scale: 1)
        for r in 0..<rows {
            let s = (0..<classes).reduce(0.0) { $0 + Double(d[r * classes + $1]) }
            #expect(abs(s) <= 1e-7, "gradient row \(r) sums to \(s)")  // Σp = 1 to ~1e-7, over rows = 4
        }
    }

    @Test func referenceBackwardMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 63)
        for (rows, classes) in [(3, 4), (1, 1), (2, 7)] {
            let logits = Buf<Double>.randn(rows * classes, std: 2, rng: &rng)
            let targets = Buf<Int32>((0..<rows).map { _ in Int32(rng.nextInt(classes)) })
            let probs = Buf<Double>(repeating: 0, count: rows * classes)
            let numeric = numericalGradient(logits) {
                CrossEntropy.forwardReference(probs.p, logits.p, targets: targets.p, rows: rows, classes: classes)
            }
            _ = CrossEntropy.forwardReference(probs.p, logits.p, targets: targets.p, rows: rows, classes: classes)
            let d = Buf<Double>(repeating: 0, count: rows * classes)
            CrossEntropy.backwardReference(d.p, probs.p, targets: targets.p, rows: rows, classes: classes)
            // Central differences, h = 1e-6, Double: error ~1e-10; 1e-7 allowed.
            expectClose(d.array, numeric, rel: 0, abs: 1e-7, "FD rows \(rows) classes \(classes)")
        }
    }
}
