import Testing
import MoDENN
import MoDETensor
import TestSupport
import MoDEFormats

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

/// Expects |analytic − numeric| ≤ absTol + relTol · |numeric| elementwise (numeric from
/// `LayerCheck.numericGradient`).
func expectGradientsAgree(_ analytic: UnsafePointer<Float>, _ numeric: Tensor, absTol: Double, relTol: Double,
                          _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    var worst = 0.0, at = -1
    for i in 0..<numeric.count {
        let excess = abs(Double(analytic[i]) - Double(numeric[i])) / (absTol + relTol * abs(Double(numeric[i])))
        if !(excess <= worst) { worst = excess; at = i }
    }
    if at >= 0 && !(worst <= 1) {
        Issue.record("\(what): at \(at) analytic \(analytic[at]), numeric \(numeric[at]) (\(worst)× the tolerance)",
                     sourceLocation: sourceLocation)
    }
}
