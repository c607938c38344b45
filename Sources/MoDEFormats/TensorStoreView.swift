import MoDETensor

/// A store that presents another store's tensors under other names, as another library's layout
/// needs: each tensor of the view is one tensor of the base, a base matrix transposed, or base
/// tensors concatenated along their first dimension. Nothing is read until `read` is called.
public final class TensorStoreView: TensorStore {
    /// Where one tensor of the view comes from.
    public enum Source: Sendable, Equatable {
        /// The base tensor of that name, as it is.
        case tensor(String)
        /// The base matrix (R, C) of that name, transposed to (C, R).
        case transposed(String)
        /// The base tensors of those names, concatenated along dimension 0 (the other dimensions
        /// must agree).
        case concatenated([String])
    }

    public let base: any TensorStore
    public let names: [String]
    private let entries: [String: (source: Source, shape: [Int])]

    public var path: String { base.path }

    /// A view of `base` with `tensors` (view name, source) in that order. Throws
    /// `TensorStoreError` when a source tensor is absent or its shape does not fit the source
    /// (transposed: 2-D; concatenated: same trailing dimensions), or when a name repeats.
    public init(base: any TensorStore, tensors: [(name: String, source: Source)]) throws {
        self.base = base
        var entries: [String: (source: Source, shape: [Int])] = [:]
        for (name, source) in tensors {
            let shape = try Self.shape(of: source, in: base, for: name)
            guard entries.updateValue((source, shape), forKey: name) == nil else {
                throw TensorStoreError.badView(path: base.path, name: name, reason: "the name appears twice")
            }
        }
        self.names = tensors.map(\.name)
        self.entries = entries
    }

    /// A view that strips `prefix` from every base name (names without it are kept as they are).
    public convenience init(base: any TensorStore, strippingPrefix prefix: String) throws {
        try self.init(base: base, tensors: base.names.map {
            ($0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : $0, .tensor($0))
        })
    }

    public func shape(_ name: String) -> [Int]? { entries[name]?.shape }

    /// Where tensor `name` of the view comes from, or nil when there is no such tensor.
    public func source(_ name: String) -> Source? { entries[name]?.source }

    public func read(_ name: String, into out: UnsafeMutablePointer<Float>, shape: [Int]) throws {
        guard let entry = entries[name] else { throw TensorStoreError.missing(path: path, name: name) }
        guard entry.shape == shape else {
            throw TensorStoreError.shapeMismatch(path: path, name: name, expected: shape, found: entry.shape)
        }
        switch entry.source {
        case .tensor(let n):
            try base.read(n, into: out, shape: shape)
        case .transposed(let n):
            let rows = shape[1], cols = shape[0]  // the base matrix is (rows, cols)
            let tmp = Tensor(shape: [rows, cols])
            try base.read(n, into: tmp.data, shape: [rows, cols])
            for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = tmp.data[r * cols + c] } }
        case .concatenated(let parts):
            var offset = 0
            for p in parts {
                let s = base.shape(p) ?? []
                try base.read(p, into: out + offset, shape: s)
                offset += s.reduce(1, *)
            }
        }
    }

    private static func shape(of source: Source, in base: any TensorStore, for name: String) throws -> [Int] {
        func baseShape(_ n: String) throws -> [Int] {
            guard let s = base.shape(n) else { throw TensorStoreError.missing(path: base.path, name: n) }
            return s
        }
        switch source {
        case .tensor(let n):
            return try baseShape(n)
        case .transposed(let n):
            let s = try baseShape(n)
            guard s.count == 2 else {
                throw TensorStoreError.badView(path: base.path, name: name, reason: "\(n) has shape \(s), not a matrix")
            }
            return [s[1], s[0]]
        case .concatenated(let parts):
            guard let first = parts.first else {
                throw TensorStoreError.badView(path: base.path, name: name, reason: "nothing to concatenate")
            }
            let s0 = try baseShape(first)
            guard !s0.isEmpty else { throw TensorStoreError.badView(path: base.path, name: name, reason: "\(first) is a scalar") }
            var rows = 0
            for p in parts {
                let s = try baseShape(p)
                guard s.count == s0.count, s.dropFirst() == s0.dropFirst() else {
                    throw TensorStoreError.badView(path: base.path, name: name, reason: "\(p) has shape \(s), \(first) has \(s0)")
                }
                rows += s[0]
            }
            return [rows] + s0.dropFirst()
        }
    }
}
