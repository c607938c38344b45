import MoDETensor

/// A handle to one parameter tensor in a `ParameterArena`: where it lives and its shape.
public struct Param: Sendable, Hashable {
    /// Position in the table (declaration order).
    public let index: Int
    /// First element in the arena's buffers (values, gradients, optimizer moments).
    public let offset: Int
    public let count: Int
    public let shape: [Int]
}

/// One row of the parameter table.
public struct ParameterSpec: Sendable, Hashable {
    /// Full checkpoint name, equal to the PyTorch state_dict key (e.g. `visual.conv1.weight`).
    public let name: String
    public let shape: [Int]
    /// Whether AdamW applies weight decay (open_clip's rule: not for tensors with fewer than
    /// 2 dims, nor names containing `bn`, `ln`, `bias` or `logit_scale`).
    public let decay: Bool

    public static func defaultDecay(name: String, shape: [Int]) -> Bool {
        !(shape.count < 2 || name.contains("bn") || name.contains("ln") || name.contains("bias")
            || name.contains("logit_scale"))
    }
}

/// Collects the (name, shape) table as a model is built. Names are declared once, where a
/// submodule is built, through `scoped(_:)`. Offsets are aligned to 16 floats (64 bytes).
public final class ParameterBuilder {
    public private(set) var specs: [ParameterSpec] = []
    public private(set) var params: [Param] = []
    private var total = 0
    private var names: Set<String> = []

    public init() {}

    /// Declares parameter `name` (a full name) of `shape`. Names must be unique.
    @discardableResult
    public func add(_ name: String, _ shape: [Int], decay: Bool? = nil) -> Param {
        precondition(!names.contains(name), "parameter \(name) declared twice")
        names.insert(name)
        let count = shape.reduce(1, *)
        let p = Param(index: specs.count, offset: total, count: count, shape: shape)
        specs.append(ParameterSpec(name: name, shape: shape, decay: decay ?? ParameterSpec.defaultDecay(name: name, shape: shape)))
        params.append(p)
        total += (count + 15) / 16 * 16
        return p
    }

    /// A scope that prefixes names with `prefix.`.
    public func scoped(_ prefix: String) -> ParameterScope { ParameterScope(builder: self, prefix: prefix) }

    /// Total floats in the arena (including alignment padding).
    public var totalCount: Int { total }

    /// Allocates values and gradients (zeroed) for the table. With `gradients` false (inference
    /// only) the gradient buffer is empty and `grad(_:)` must not be used.
    public func build(gradients: Bool = true) -> ParameterArena {
        ParameterArena(specs: specs, params: params, count: total, gradients: gradients)
    }
}

/// A naming scope: `scope.add("weight", …)` declares `prefix.weight`.
public struct ParameterScope {
    public let builder: ParameterBuilder
    public let prefix: String

    public func name(_ n: String) -> String { prefix.isEmpty ? n : prefix + "." + n }
    @discardableResult
    public func add(_ n: String, _ shape: [Int], decay: Bool? = nil) -> Param { builder.add(name(n), shape, decay: decay) }
    public func scoped(_ sub: String) -> ParameterScope { ParameterScope(builder: builder, prefix: name(sub)) }
}

/// All parameters of a model in one contiguous buffer, with gradients in a second buffer of the
/// same layout, so zeroing, clipping and the optimizer step are flat loops.
public final class ParameterArena: @unchecked Sendable {
    public let specs: [ParameterSpec]
    public let params: [Param]
    /// Floats per buffer (including alignment padding, which stays zero).
    public let count: Int
    public let values: Tensor
    public let grads: Tensor
    private let byName: [String: Int]

    init(specs: [ParameterSpec], params: [Param], count: Int, gradients: Bool = true) {
        self.specs = specs
        self.params = params
        self.count = count
        self.values = Tensor(shape: [count])
        self.grads = Tensor(shape: [gradients ? count : 0])
        var m: [String: Int] = [:]
        for (i, s) in specs.enumerated() { m[s.name] = i }
        self.byName = m
    }

    /// Number of parameter elements (without padding).
    public var parameterCount: Int { params.reduce(0) { $0 + $1.count } }

    /// The handle of parameter `name`, or nil.
    public func param(_ name: String) -> Param? { byName[name].map { params[$0] } }

    /// Pointer to the values of `p`.
    @inline(__always) public func value(_ p: Param) -> UnsafeMutablePointer<Float> { values.data + p.offset }
    /// Pointer to the gradient of `p`.
    @inline(__always) public func grad(_ p: Param) -> UnsafeMutablePointer<Float> { grads.data + p.offset }

    /// Sets every gradient to zero.
    public func zeroGrad() { grads.fill(0) }

    /// Fills `p` with normal(0, std) deviates from `rng`.
    public func initNormal(_ p: Param, std: Float, rng: inout SeededRNG) {
        let v = value(p)
        for i in 0..<p.count { v[i] = rng.nextNormal() * std }
    }

    /// Fills `p` with a constant.
    public func initConstant(_ p: Param, _ c: Float) { value(p).update(repeating: c, count: p.count) }

    /// Copies `values` (row-major, `p.count` of them) into `p`.
    public func set(_ p: Param, _ values: [Float]) {
        precondition(values.count == p.count, "\(values.count) values for \(specs[p.index].name) \(p.shape)")
        values.withUnsafeBufferPointer { value(p).update(from: $0.baseAddress!, count: p.count) }
    }

    /// The values of `p` as a new tensor of its shape.
    public func tensor(_ p: Param) -> Tensor {
        let t = Tensor(shape: p.shape)
        t.data.update(from: value(p), count: p.count)
        return t
    }

    /// The gradient of `p` as a new tensor of its shape.
    public func gradTensor(_ p: Param) -> Tensor {
        let t = Tensor(shape: p.shape)
        t.data.update(from: grad(p), count: p.count)
        return t
    }
}
