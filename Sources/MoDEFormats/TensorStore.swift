import MoDETensor

/// A read-only collection of named tensors: a safetensors file, a PyTorch checkpoint, or a view
/// that presents another store under different names (a checkpoint in another library's layout).
/// Model loaders read parameters through this protocol, so they do not care where the bytes are.
public protocol TensorStore: AnyObject {
    /// The file or folder the tensors come from, for messages.
    var path: String { get }
    /// Every tensor name, in the store's order.
    var names: [String] { get }
    /// The shape of tensor `name`, or nil when there is no such tensor.
    func shape(_ name: String) -> [Int]?
    /// Converts tensor `name` to Float32 into `out` (`shape`, row-major). Throws when there is no
    /// such tensor or its shape differs from `shape`.
    func read(_ name: String, into out: UnsafeMutablePointer<Float>, shape: [Int]) throws
}

extension TensorStore {
    /// Whether the store holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { shape(name) != nil }

    /// Tensor `name` converted to Float32 in a new tensor of its own shape.
    public func floatTensor(_ name: String) throws -> Tensor {
        guard let s = shape(name) else { throw TensorStoreError.missing(path: path, name: name) }
        let t = Tensor(shape: s)
        try read(name, into: t.data, shape: s)
        return t
    }
}

/// A tensor asked of a store that does not hold it, asked in another shape, or a view that does
/// not fit its store.
public enum TensorStoreError: Error, CustomStringConvertible, Equatable {
    case missing(path: String, name: String)
    case shapeMismatch(path: String, name: String, expected: [Int], found: [Int])
    case badView(path: String, name: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let p, let n): return "\(p): no tensor named \(n)"
        case let .shapeMismatch(p, n, e, f): return "\(p): tensor \(n) has shape \(f), expected \(e)"
        case let .badView(p, n, r): return "\(p): cannot present tensor \(n): \(r)"
        }
    }
}

extension SafeTensorsFile: TensorStore {
    public func shape(_ name: String) -> [Int]? { info(name)?.shape }
}
