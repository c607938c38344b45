import Foundation
import MoDETensor
import MoDEFormats

/// A checkpoint problem, naming the file and what is wrong.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case missingTensor(file: String, name: String)
    case unexpectedTensor(file: String, name: String)
    case shapeMismatch(file: String, name: String, expected: [Int], found: [Int])
    /// More than one tensor missing or unexpected: all of them, by name.
    case tensorNames(file: String, missing: [String], unexpected: [String])
    case invalidState(file: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no checkpoint here (expected a .safetensors or PyTorch .pt/.bin file, an open_clip hub folder, a transformers CLIP folder, a checkpoint folder, or a run folder with checkpoints/latest)"
        case .missingTensor(let f, let n): return "\(f): missing tensor \(n)"
        case .unexpectedTensor(let f, let n): return "\(f): unexpected tensor \(n) (not a parameter of this model)"
        case .shapeMismatch(let f, let n, let e, let s): return "\(f): tensor \(n) has shape \(s), the model expects \(e)"
        case let .tensorNames(f, missing, unexpected):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("\(missing.count) missing tensor\(missing.count == 1 ? "" : "s"): \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty {
                parts.append("\(unexpected.count) unexpected tensor\(unexpected.count == 1 ? "" : "s") (not parameters of this model): \(unexpected.joined(separator: ", "))")
            }
            return "\(f): " + parts.joined(separator: "; ")
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
    /// values). Strict: missing tensors, a shape mismatch, or (when `allowExtra` is false)
    /// tensors under `prefix` that are not parameters are an error naming the file and the
    /// tensors — one name as `missingTensor` / `unexpectedTensor`, several (all of them) as
    /// `tensorNames`. Nothing is read unless every name matches.
    public func read(from file: some TensorStore, buffer: Tensor? = nil, prefix: String = "", allowExtra: Bool = false) throws {
        let base = (buffer ?? values).data
        let wanted = specs.map { prefix + $0.name }
        let missing = wanted.filter { !file.contains($0) }
        var unexpected: [String] = []
        if !allowExtra {
            let known = Set(wanted)
            unexpected = file.names.filter { $0.hasPrefix(prefix) && !known.contains($0) }
        }
        switch (missing.count, unexpected.count) {
        case (0, 0): break
        case (1, 0): throw CheckpointError.missingTensor(file: file.path, name: missing[0])
        case (0, 1): throw CheckpointError.unexpectedTensor(file: file.path, name: unexpected[0])
        default: throw CheckpointError.tensorNames(file: file.path, missing: missing, unexpected: unexpected)
        }
        for (s, name) in zip(specs, wanted) {
            let shape = file.shape(name)!
            guard shape == s.shape else {
                throw CheckpointError.shapeMismatch(file: file.path, name: name, expected: s.shape, found: shape)
            }
        }
        for (p, (s, name)) in zip(params, zip(specs, wanted)) {
            try file.read(name, into: base + p.offset, shape: s.shape)
        }
    }
}

