import MoDETensor

/// Builds a safetensors file: tensors are added in order (the data section keeps that order)
/// and written at once, atomically. The header lists `__metadata__` first, then the tensors
/// sorted by name, and is padded with spaces to a multiple of 8 bytes so the data section
/// starts 8-byte aligned, as the reference implementation does.
public struct SafeTensorsWriter {
    struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let bytes: [UInt8]
    }

    private(set) var entries: [Entry] = []
    private var names: Set<String> = []

    public init() {}

    /// Names added so far, in order.
    public var tensorNames: [String] { entries.map(\.name) }

    /// Adds `values` (shape `shape`, row-major) stored as `dtype` (F32, F64, F16 or BF16;
    /// 16-bit types round to nearest, ties to even, as PyTorch does).
    public mutating func add(_ name: String, _ values: UnsafePointer<Float>, shape: [Int], as dtype: DType = .f32) {
        let n = shape.reduce(1, *)
        var bytes = [UInt8](repeating: 0, count: n * dtype.size)
        bytes.withUnsafeMutableBytes { raw in
            guard let out = raw.baseAddress else { return }
            switch dtype {
            case .f32: for i in 0..<n { out.storeBytes(of: values[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            case .f64: for i in 0..<n { out.storeBytes(of: Double(values[i]).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
            case .f16: HalfFloat.floatToF16(out, values, count: n)
            case .bf16: HalfFloat.floatToBF16(out, values, count: n)
            default: preconditionFailure("cannot store Float values as \(dtype.rawValue)")
            }
        }
        append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Adds tensor `t` stored as `dtype` (F32, F64, F16 or BF16).
    public mutating func add(_ name: String, _ t: Tensor, as dtype: DType = .f32) {
        add(name, UnsafePointer(t.data), shape: t.shape, as: dtype)
    }

    /// Adds an I64 tensor of `shape` holding `int64s` (row-major).
    public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) {
        precondition(int64s.count == shape.reduce(1, *), "\(int64s.count) values for shape \(shape)")
        append(Entry(name: name, dtype: .i64, shape: shape, bytes: int64s.flatMap { littleEndianBytes($0) }))
    }

    /// Adds an I32 tensor of `shape` holding `int32s` (row-major).
    public mutating func add(_ name: String, int32s: [Int32], shape: [Int]) {
        precondition(int32s.count == shape.reduce(1, *), "\(int32s.count) values for shape \(shape)")
        append(Entry(name: name, dtype: .i32, shape: shape, bytes: int32s.flatMap { littleEndianBytes($0) }))
    }

    /// Adds a tensor of any dtype from its stored bytes (little-endian, row-major).
    public mutating func add(_ name: String, bytes: [UInt8], dtype: DType, shape: [Int]) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.size,
                     "\(bytes.count) bytes for \(dtype.rawValue) of shape \(shape)")
        append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    private mutating func append(_ e: Entry) {
        precondition(e.name != "__metadata__", "\"__metadata__\" is reserved")
        precondition(e.shape.allSatisfy { $0 >= 0 }, "negative dimension in \(e.shape)")
        precondition(names.insert(e.name).inserted, "tensor \(e.name) added twice")
        entries.append(e)
    }

    private func littleEndianBytes<I: FixedWidthInteger>(_ v: I) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    /// The header JSON (without padding) for the given metadata.
    func headerJSON(metadata: [String: String]) -> String {
        var items: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
            items.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        var ranges: [String: (Int, Int)] = [:]
        for e in entries {
            ranges[e.name] = (offset, offset + e.bytes.count)
            offset += e.bytes.count
        }
        for e in entries.sorted(by: { $0.name < $1.name }) {
            let (b, end) = ranges[e.name]!
            let shape = e.shape.map(String.init).joined(separator: ",")
            items.append("\(jsonQuoted(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(b),\(end)]}")
        }
        return "{" + items.joined(separator: ",") + "}"
    }

    /// The whole file's bytes.
    public func serialized(metadata: [String: String] = [:]) -> [UInt8] {
        var out = headerBytes(metadata: metadata)
        for e in entries { out += e.bytes }
        return out
    }

    /// The 8-byte length followed by the space-padded header.
    private func headerBytes(metadata: [String: String]) -> [UInt8] {
        var header = Array(headerJSON(metadata: metadata).utf8)
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        return withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
    }

    /// Writes the file to `path` atomically (see `AtomicFile`). Throws `AtomicFileError`.
    public func write(to path: String, metadata: [String: String] = [:]) throws {
        try AtomicFile.write(to: path) { out in
            try out.write(headerBytes(metadata: metadata))
            for e in entries { try out.write(e.bytes) }
        }
    }
}
