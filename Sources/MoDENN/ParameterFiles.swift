import Foundation
import MoDETensor
import MoDEFormats

/// A checkpoint problem, naming the file and what is wrong.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case missingTensor(file: String, name: String)
    case unexpectedTensor(file: String, name: String)
    case shapeMismatch(file: String, name: String, expected: [Int], found: [Int])
    case invalidState(file: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no checkpoint here (expected a .safetensors file, a checkpoint folder, or a run folder with checkpoints/latest)"
        case .missingTensor(let f, let n): return "\(f): missing tensor \(n)"
        case .unexpectedTensor(let f, let n): return "\(f): unexpected tensor \(n) (not a parameter of this model)"
        case .shapeMismatch(let f, let n, let e, let s): return "\(f): tensor \(n) has shape \(s), the model expects \(e)"
        case .invalidState(let f, let r): return "\(f): \(r)"
        }
    }
}

extension ParameterArena {
    /// Adds the parameters of `buffer` (arena layout; default the values) to `writer`, under
    /// `prefix` + their names.
    public func write(to writer: inout SafeTensorsWriter, buffer: Tensor? = nil, prefix: String = "") {
        let base = (buffer ?? values).data
        for (p, s) in zip(params, specs) { writer.add(prefix + s.name, base + p.offset, shape: s.shape) }
    }

    /// Reads every parameter from `file` (names `prefix` + spec name) into `buffer` (default the
    /// values). Strict: a missing tensor, a shape mismatch, or (when `allowExtra` is false) a
    /// tensor under `prefix` that is not a parameter is an error naming the file and the tensor.
    public func read(from file: some TensorStore, buffer: Tensor? = nil, prefix: String = "", allowExtra: Bool = false) throws {
        let base = (buffer ?? values).data
        var known = Set<String>()
        for (p, s) in zip(params, specs) {
            let name = prefix + s.name
            known.insert(name)
            guard let shape = file.shape(name) else { throw CheckpointError.missingTensor(file: file.path, name: name) }
            guard shape == s.shape else {
                throw CheckpointError.shapeMismatch(file: file.path, name: name, expected: s.shape, found: shape)
            }
            try file.read(name, into: base + p.offset, shape: shape)
        }
        if !allowExtra, let extra = file.names.first(where: { $0.hasPrefix(prefix) && !known.contains($0) }) {
            throw CheckpointError.unexpectedTensor(file: file.path, name: extra)
        }
    }
}

