import MoDETensor

/// PyTorch `nn.LayerNorm(dim)` over the last dimension: `weight` (dim), `bias` (dim).
public struct LayerNorm: Sendable {
    public let weight: Param
    public let bias: Param
    public let dim: Int
    public let eps: Float

    /// Declares `weight` and `bias` under `scope`.
    public init(_ scope: ParameterScope, dim: Int, eps: Float = 1e-5) {
        self.dim = dim
        self.eps = eps
        self.weight = scope.add("weight", [dim])
        self.bias = scope.add("bias", [dim])
    }

    /// Sets PyTorch's initial values: weight 1, bias 0.
    public func initParameters(_ arena: ParameterArena) {
        arena.initConstant(weight, 1)
        arena.initConstant(bias, 0)
    }

    /// What the backward needs from a forward: per-row mean and 1/std. Allocate once for the
    /// largest row count and reuse.
    public final class Cache: @unchecked Sendable {
        public let capacity: Int
        /// (capacity)
        public let mean: Tensor
        /// (capacity)
        public let rstd: Tensor

        public init(rows: Int) {
            capacity = rows
            mean = Tensor(shape: [rows])
            rstd = Tensor(shape: [rows])
        }
    }

    /// y (rows, dim) = LayerNorm(x (rows, dim)); fills `cache` for the backward. y may alias x
    /// (but the backward needs x).
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int,
                        cache: Cache, _ arena: ParameterArena) {
        precondition(rows <= cache.capacity, "LayerNorm cache holds \(cache.capacity) rows, not \(rows)")
        LayerNormKernel.forward(y, cache.mean.data, cache.rstd.data, x, arena.value(weight), arena.value(bias),
                                rows: rows, cols: dim, eps: eps)
    }

    /// Backward of `forward`, from dy (rows, dim), the forward's input x (rows, dim) and `cache`.
    /// ACCUMULATES into the weight and bias gradients. Writes dx (rows, dim), or adds to it when
    /// `accumulate` (the residual-stream gradient of a pre-LN block).
    public func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         rows: Int, cache: Cache, _ arena: ParameterArena, accumulate: Bool = false) {
        precondition(rows <= cache.capacity, "LayerNorm cache holds \(cache.capacity) rows, not \(rows)")
        LayerNormKernel.backward(dx, arena.grad(weight), arena.grad(bias), dy, x, cache.mean.data, cache.rstd.data,
                                 arena.value(weight), rows: rows, cols: dim, accumulateInput: accumulate)
    }
}
