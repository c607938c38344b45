/// An inert value from a checkpoint's pickle, outside the state dict (an epoch number, a run
/// name, optimizer settings). Tensors are described, not loaded.
public indirect enum TorchCheckpointValue: Equatable, Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// A list or tuple.
    case list([TorchCheckpointValue])
    /// A dict, in insertion order; keys that are not strings are written as Python would print them.
    case dict([Entry])
    case tensor(dtype: DType, shape: [Int])
    /// Something kept only as a description (an integer beyond 64 bits, a nesting too deep).
    case other(String)

    public struct Entry: Equatable, Sendable {
        public var key: String
        public var value: TorchCheckpointValue
    }

    /// The value of an int, or nil.
    public var int: Int? { if case .int(let v) = self { v } else { nil } }
    /// The value of a str, or nil.
    public var string: String? { if case .string(let v) = self { v } else { nil } }
    /// A float's value, or an int's as a Double, or nil.
    public var double: Double? {
        switch self {
        case .float(let v): v
        case .int(let v): Double(v)
        default: nil
        }
    }
}

/// What a checkpoint's pickle holds: the state dict's tensors and the other top-level entries.
struct TorchCheckpointContents {
    var tensors: [(name: String, view: TorchTensorRef)] = []
    var stateDictKey: String?
    var extras: [String: TorchCheckpointValue] = [:]

    /// Keys under which training checkpoints keep the state dict, in the order they are tried.
    static let stateDictKeys = ["state_dict", "model", "module"]
    /// Deepest nesting kept in `extras`, and the most values converted in all.
    static let maxDepth = 32
    static let maxValues = 1 << 20

    /// Finds the state dict in the unpickled `root`.
    init(_ root: PickleValue, path: String) throws {
        func none(_ reason: String) -> TorchCheckpointError { TorchCheckpointError(path: path, .noStateDict(reason)) }
        guard let top = root.dict else { throw none("the checkpoint holds a \(root.kindName), not a dict") }
        if let tensors = Self.tensorDict(top) {
            self.tensors = tensors
        } else {
            guard let key = Self.stateDictKeys.first(where: { top[$0].flatMap(\.dict).flatMap(Self.tensorDict) != nil }),
                  let tensors = top[key]?.dict.flatMap(Self.tensorDict) else {
                let keys = top.items.prefix(20).map { Self.keyText($0) }.joined(separator: ", ")
                throw none("the top-level dict (keys: \(keys)) is not a dict of tensors and has none under \(Self.stateDictKeys.joined(separator: ", "))")
            }
            stateDictKey = key
            self.tensors = tensors
            var budget = Self.maxValues
            for (k, v) in zip(top.items, top.values) where k.string != key {
                extras[Self.keyText(k)] = Self.plain(v, depth: 0, budget: &budget)
            }
        }
        // DistributedDataParallel saves every key under `module.`.
        let prefix = "module."
        if !tensors.isEmpty && tensors.allSatisfy({ $0.name.hasPrefix(prefix) }) {
            tensors = tensors.map { (String($0.name.dropFirst(prefix.count)), $0.view) }
        }
        var seen = Set<String>()
        for t in tensors where !seen.insert(t.name).inserted {
            throw TorchCheckpointError(path: path, .invalidTensor(name: t.name, reason: "appears twice in the state dict"))
        }
    }

    /// The (name, tensor) pairs of `d` when every key is a str and every value a tensor.
    static func tensorDict(_ d: PickleNode) -> [(name: String, view: TorchTensorRef)]? {
        var out: [(name: String, view: TorchTensorRef)] = []
        out.reserveCapacity(d.items.count)
        for (k, v) in zip(d.items, d.values) {
            guard let name = k.string, let t = v.tensor else { return nil }
            out.append((name, t))
        }
        return out
    }

    /// A dict key as text: a str as is, an int in decimal, anything else by kind.
    static func keyText(_ k: PickleValue) -> String {
        switch k {
        case .string(let s): s
        case .int(let v): String(v)
        default: "<\(k.kindName)>"
        }
    }

    /// `v` as a plain value, nested at most `maxDepth` deep and using at most `budget` values
    /// (cycles, possible through the memo, end at the depth limit).
    static func plain(_ v: PickleValue, depth: Int, budget: inout Int) -> TorchCheckpointValue {
        guard budget > 0 else { return .other("(value limit reached)") }
        budget -= 1
        switch v {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .bigInt: return .other("int beyond 64 bits")
        case .float(let d): return .float(d)
        case .string(let s): return .string(s)
        case .bytes(let b): return .bytes(b)
        case .global(let g): return .other(g.qualifiedName)
        case .storage(let s): return .other("storage \(s.key)")
        case .tensor(let t): return .tensor(dtype: t.storage.dtype, shape: t.shape)
        case .node(let n):
            guard depth < maxDepth else { return .other("(nested too deep)") }
            // Stop at the first element past the budget, so that a node shared many times over
            // (possible through the memo) costs no more than the budget.
            if n.kind == .dict {
                var entries: [TorchCheckpointValue.Entry] = []
                for (k, x) in zip(n.items, n.values) {
                    entries.append(.init(key: keyText(k), value: plain(x, depth: depth + 1, budget: &budget)))
                    if budget <= 0 { break }
                }
                return .dict(entries)
            }
            var items: [TorchCheckpointValue] = []
            for x in n.items {
                items.append(plain(x, depth: depth + 1, budget: &budget))
                if budget <= 0 { break }
            }
            return .list(items)
        }
    }
}
