import CMoDEKernels
import MoDETensor

/// y = x · Wᵀ + b, PyTorch's `nn.Linear` layout: `weight` (out, in), `bias` (out).
public struct Linear: Sendable {
    public let weight: Param
    public let bias: Param?
    public let inFeatures: Int
    public let outFeatures: Int

    /// Declares `weight` and (optionally) `bias` under `scope`.
    public init(_ scope: ParameterScope, in inFeatures: Int, out outFeatures: Int, bias: Bool = true,
                weightName: String = "weight", biasName: String = "bias") {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = scope.add(weightName, [outFeatures, inFeatures])
        self.bias = bias ? scope.add(biasName, [outFeatures]) : nil
    }

    /// y (rows, out) = x (rows, in) · Wᵀ + b.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, _ arena: ParameterArena) {
        if let bias {
            let b = arena.value(bias)
            for r in 0..<rows { (y + r * outFeatures).update(from: b, count: outFeatures) }
        }
        Matmul.gemm(y, x, arena.value(weight), m: rows, n: outFeatures, k: inFeatures,
                    transB: true, beta: bias == nil ? 0 : 1)
    }

    /// Backward of `forward`. Accumulates dW += dyᵀ · x and db += Σ_rows dy into the arena's
    /// gradients. Writes dx (rows, in) = dy · W, or adds to it when `accumulate` is true; pass
    /// nil for dx when the input needs no gradient.
    public func backward(dx: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         rows: Int, _ arena: ParameterArena, accumulate: Bool = false) {
        Matmul.gemm(arena.grad(weight), dy, x, m: outFeatures, n: inFeatures, k: rows, transA: true, beta: 1)
        if let bias { addColumnSums(arena.grad(bias), dy, rows: rows, cols: outFeatures) }
        if let dx {
            Matmul.gemm(dx, dy, arena.value(weight), m: rows, n: inFeatures, k: outFeatures,
                        beta: accumulate ? 1 : 0)
        }
    }
}

/// out (cols) += Σ_r x (rows, cols)[r, :]. Parallel over column blocks.
func addColumnSums(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
    Parallel.forEach(cols, grain: 64) { range in
        mode_add_column_sums(out, x, rows, cols, range.lowerBound, range.upperBound)
    }
}
