import MoDETensor

/// open_clip's transformer MLP: `c_fc` Linear(width → hidden), an activation, `c_proj`
/// Linear(hidden → width). Parameters `c_fc.weight` (hidden, width), `c_fc.bias` (hidden),
/// `c_proj.weight` (width, hidden), `c_proj.bias` (width).
public struct MLP: Sendable {
    public let cFc: Linear
    public let cProj: Linear
    public let activation: Activation
    public let width: Int
    public let hidden: Int

    /// Declares `c_fc` and `c_proj` under `scope`; hidden is open_clip's `mlp_ratio · width`.
    public init(_ scope: ParameterScope, width: Int, hidden: Int, activation: Activation) {
        self.width = width
        self.hidden = hidden
        self.activation = activation
        cFc = Linear(scope.scoped("c_fc"), in: width, out: hidden)
        cProj = Linear(scope.scoped("c_proj"), in: hidden, out: width)
    }

    /// The hidden activations the backward needs. Allocate once for the largest row count and
    /// reuse; the backward overwrites `activated` (it serves as the backward's scratch).
    public final class Cache: @unchecked Sendable {
        public let capacity: Int
        /// c_fc output before the activation (capacity, hidden).
        public let preActivation: Tensor
        /// After the activation (capacity, hidden); c_proj's input.
        public let activated: Tensor

        public init(rows: Int, hidden: Int) {
            capacity = rows
            preActivation = Tensor(shape: [rows, hidden])
            activated = Tensor(shape: [rows, hidden])
        }
    }

    /// A cache sized for this layer.
    public func makeCache(rows: Int) -> Cache { Cache(rows: rows, hidden: hidden) }

    /// y (rows, width) = c_proj(act(c_fc(x (rows, width)))); fills `cache`. y must not alias x.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int,
                        cache: Cache, _ arena: ParameterArena) {
        precondition(rows <= cache.capacity, "MLP cache holds \(cache.capacity) rows, not \(rows)")
        let h = cache.preActivation.data, a = cache.activated.data
        Profiler.region("c_fc") { cFc.forward(h, x, rows: rows, arena) }
        Profiler.region("act") { activation.forward(a, h, count: rows * hidden) }
        Profiler.region("c_proj") { cProj.forward(y, a, rows: rows, arena) }
    }

    /// Backward of `forward`, from dy (rows, width), the forward's input x (rows, width) and
    /// `cache` (whose `activated` it overwrites). ACCUMULATES into all four parameter gradients.
    /// Writes dx (rows, width), or adds to it when `accumulate`; nil skips the input gradient.
    public func backward(dx: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         rows: Int, cache: Cache, _ arena: ParameterArena, accumulate: Bool = false) {
        precondition(rows <= cache.capacity, "MLP cache holds \(cache.capacity) rows, not \(rows)")
        let h = cache.preActivation.data, a = cache.activated.data
        // c_proj: parameter gradients need a; then a is free to hold da = dy · W_proj.
        Profiler.region("c_proj") {
            cProj.backward(dx: nil, dy: dy, x: a, rows: rows, arena)
            Matmul.gemm(a, dy, arena.value(cProj.weight), m: rows, n: hidden, k: width)
        }
        // Activation, in place: dh = da ⊙ act′(h).
        Profiler.region("act") { activation.backward(a, a, h, count: rows * hidden) }
        Profiler.region("c_fc") { cFc.backward(dx: dx, dy: a, x: x, rows: rows, arena, accumulate: accumulate) }
    }
}
