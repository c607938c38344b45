import Testing
import NN
import Tensor
import TestSupport

/// Copies every parameter of `arena` from the fixture tensor of the same (state_dict) name,
/// checking its shape.
func loadParameters(_ arena: ParameterArena, from f: SafeTensorsFile,
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
    for (spec, p) in zip(arena.specs, arena.params) {
        let t = try f.tensor(spec.name)
        #expect(t.shape == spec.shape, "\(spec.name): fixture shape \(t.shape), declared \(spec.shape)",
                sourceLocation: sourceLocation)
        arena.set(p, t.array)
    }
}

/// Compares the arena's gradient of every parameter with the fixture's `grad.<name>`.
func expectParameterGradients(_ arena: ParameterArena, _ f: SafeTensorsFile, relTol: Float, _ what: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
    for (spec, p) in zip(arena.specs, arena.params) {
        expectClose(arena.grad(p), try f.tensor("grad." + spec.name), relTol: relTol, "\(what) grad \(spec.name)",
                    sourceLocation: sourceLocation)
    }
}

/// Σ w ⊙ y accumulated in Double.
func weightedSum(_ w: Tensor, _ y: UnsafePointer<Float>) -> Double {
    var s = 0.0
    for i in 0..<w.count { s += Double(w.data[i]) * Double(y[i]) }
    return s
}

/// Central differences of `loss` with respect to the `count` Floats at `v`, step `h`. Each
/// difference is divided by the step actually taken in Float ((v + h) − (v − h)).
func floatNumericalGradient(_ v: UnsafeMutablePointer<Float>, count: Int, h: Float, _ loss: () -> Double) -> [Double] {
    (0..<count).map { i in
        let saved = v[i]
        let up = saved + h, down = saved - h
        v[i] = up
        let lp = loss()
        v[i] = down
        let lm = loss()
        v[i] = saved
        return (lp - lm) / (Double(up) - Double(down))
    }
}

/// Expects |analytic − numeric| ≤ absTol + relTol · |numeric| elementwise.
func expectGradientsAgree(_ analytic: UnsafePointer<Float>, _ numeric: [Double], absTol: Double, relTol: Double,
                          _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    var worst = 0.0, at = -1
    for i in 0..<numeric.count {
        let excess = abs(Double(analytic[i]) - numeric[i]) / (absTol + relTol * abs(numeric[i]))
        if !(excess <= worst) { worst = excess; at = i }
    }
    if at >= 0 && !(worst <= 1) {
        Issue.record("\(what): at \(at) analytic \(analytic[at]), numeric \(numeric[at]) (\(worst)× the tolerance)",
                     sourceLocation: sourceLocation)
    }
}
