import Testing
import TestSupport
import MoDETensor

/// The shared assertion helper itself: passes within tolerance, reports failures.
@Suite struct FixtureSupportTests {
    @Test func expectClosePassesWithinTolerance() {
        let e = Tensor(shape: [2, 2], values: [10, -20, 0, 5])
        // Worst |a − e| = 0.02, max|e| = 20 → relative error 1e-3.
        expectClose(Tensor(shape: [2, 2], values: [10.01, -20.02, 0.01, 5]), e, relTol: 1.01e-3, "within relTol")
        expectClose([10.01, -20.02, 0.01, 5], e, relTol: 0, absTol: 0.021, "within absTol")
        expectClose(Tensor(shape: [2], values: [.nan, 1]), Tensor(shape: [2], values: [.nan, 1]), relTol: 0, "NaN where expected")
        expectClose(Tensor(shape: [0]), Tensor(shape: [0]), relTol: 0, "empty")
    }

    @Test func expectCloseReportsFailures() {
        let e = Tensor(shape: [2, 2], values: [10, -20, 0, 5])
        withKnownIssue { expectClose(Tensor(shape: [2, 2], values: [10.01, -20.02, 0.01, 5]), e, relTol: 0.99e-3, "just outside") }
        withKnownIssue { expectClose(Tensor(shape: [4], values: [10, -20, 0, 5]), e, relTol: 1, "shape") }
        withKnownIssue { expectClose([10, -20, .nan, 5], e, relTol: 1, "unexpected NaN") }
        withKnownIssue { expectClose([10, -20, .infinity, 5], e, relTol: 1, "infinity") }
        withKnownIssue { expectClose([10, -20], e, relTol: 1, "count") }
    }
}
