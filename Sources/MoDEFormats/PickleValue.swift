/// An inert value decoded by the restricted unpickler. Nothing in it can run: functions and
/// classes appear only as `PickleGlobal` names from a fixed allow-list.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside Int's range (its value is not kept).
    case bigInt
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case global(PickleGlobal)
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)
    /// A tuple, list or dict (reference semantics, as in Python: APPEND and SETITEM mutate it).
    case node(PickleNode)

    /// The kind of value, for messages.
    var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .global(let g): g.qualifiedName
        case .storage: "storage"
        case .tensor: "tensor"
        case .node(let n): "\(n.kind)"
        }
    }

    var int: Int? { if case .int(let v) = self { v } else { nil } }
    var string: String? { if case .string(let v) = self { v } else { nil } }
    var tensor: TorchTensorRef? { if case .tensor(let v) = self { v } else { nil } }

    /// The elements of a tuple or list.
    var elements: [PickleValue]? {
        if case .node(let n) = self, n.kind != .dict { n.items } else { nil }
    }

    /// The node when this is a dict.
    var dict: PickleNode? {
        if case .node(let n) = self, n.kind == .dict { n } else { nil }
    }
}

/// A tuple, list or dict. Dicts keep insertion order; a repeated str or int key replaces the value.
final class PickleNode {
    enum Kind { case tuple, list, dict }
    let kind: Kind
    /// Tuple and list elements; dict keys.
    var items: [PickleValue] = []
    /// Dict values, parallel to `items`.
    var values: [PickleValue] = []
    private var stringKeys: [String: Int] = [:]
    private var intKeys: [Int: Int] = [:]

    init(_ kind: Kind, _ items: [PickleValue] = []) {
        self.kind = kind
        self.items = items
    }

    /// d[key] = value.
    func set(_ key: PickleValue, _ value: PickleValue) {
        switch key {
        case .string(let s):
            if let i = stringKeys[s] { values[i] = value; return }
            stringKeys[s] = items.count
        case .int(let k):
            if let i = intKeys[k] { values[i] = value; return }
            intKeys[k] = items.count
        default: break
        }
        items.append(key)
        values.append(value)
    }

    /// The value under str key `key`.
    subscript(key: String) -> PickleValue? { stringKeys[key].map { values[$0] } }

    /// Drops every element so that no chain of nodes remains (releasing a deep chain would
    /// otherwise recurse once per level).
    func clear() {
        items = []
        values = []
    }
}

/// A name the unpickler accepts. None of them is ever called: REDUCE of one builds an inert value.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensor
    case rebuildParameter
    case rebuildParameterWithState
    case rebuildFromType
    /// torch.Tensor or torch.nn.parameter.Parameter, as the type argument of rebuildFromType.
    case tensorType(String)
    case size
    case storageType(String, DType)

    /// The allow-list, by "module.name".
    static func named(_ module: String, _ name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"), ("torch._utils", "_rebuild_from_type_v2"): return .rebuildFromType
        case ("torch", "Tensor"), ("torch.nn.parameter", "Parameter"): return .tensorType("\(module).\(name)")
        case ("torch", "Size"): return .size
        case ("torch", _): return storageTypes[name].map { .storageType(name, $0) }
        default: return nil
        }
    }

    /// The typed storage classes torch.save names in persistent ids, and their element types.
    static let storageTypes: [String: DType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensor: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromType: "torch._tensor._rebuild_from_type_v2"
        case .tensorType(let n): n
        case .size: "torch.Size"
        case .storageType(let n, _): "torch.\(n)"
        }
    }
}

/// A storage named by a persistent id: `('storage', <type>, key, location, numel)`; its bytes are
/// the archive entry `<prefix>/data/<key>`.
struct TorchStorageRef: Equatable {
    var key: String
    var dtype: DType
    /// Elements (of `dtype`) the pickle declares.
    var count: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage.
struct TorchTensorRef: Equatable {
    var storage: TorchStorageRef
    /// Offset in elements.
    var offset: Int
    var shape: [Int]
    var strides: [Int]

    /// Checks the view against its storage (sizes and strides non-negative, extent inside the
    /// storage, no overflow) and returns the element count.
    func validate() -> Result<Int, TorchViewError> {
        guard shape.count == strides.count else { return .failure(.init("shape \(shape) and strides \(strides) differ in rank")) }
        guard offset >= 0 else { return .failure(.init("negative storage offset \(offset)")) }
        var count = 1
        var last = offset  // index of the last element
        for (size, stride) in zip(shape, strides) {
            guard size >= 0 else { return .failure(.init("negative size in shape \(shape)")) }
            guard stride >= 0 else { return .failure(.init("negative stride in strides \(strides)")) }
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            guard !o1 else { return .failure(.init("shape \(shape) overflows")) }
            count = c
        }
        if count == 0 {
            guard offset <= storage.count else { return .failure(.init("storage offset \(offset) is past the \(storage.count)-element storage")) }
            return .success(0)
        }
        for (size, stride) in zip(shape, strides) {
            let (step, o1) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, o2) = last.addingReportingOverflow(step)
            guard !o1, !o2 else { return .failure(.init("strides \(strides) overflow")) }
            last = sum
        }
        guard last < storage.count else {
            return .failure(.init("view (offset \(offset), shape \(shape), strides \(strides)) reaches element \(last) of a \(storage.count)-element storage"))
        }
        return .success(count)
    }
}

/// Why a tensor view does not fit its storage.
struct TorchViewError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
