#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MoDETensor

// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON header, then
// the data section. The header maps each tensor name to {"dtype", "shape", "data_offsets":
// [begin, end)} (offsets relative to the data section) and may hold "__metadata__", a map of
// strings to strings. Tensors are stored row-major, little-endian, and tile the data section
// without gaps or overlaps.

/// Element types of the safetensors format.
public enum DType: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3 = "F8_E4M3"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .f64, .i64, .u64: 8
        }
    }

    /// Whether the type holds integers (BOOL counts as an integer type of 0 and 1).
    public var isInteger: Bool {
        switch self {
        case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64: true
        default: false
        }
    }
}

extension DType {
    /// out[0..<count] = the `count` little-endian elements of this type at `src` (any alignment)
    /// as Float32 (64-bit integers may round).
    func convertToFloat(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, count n: Int) {
        @inline(__always) func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            T(littleEndian: src.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
        }
        switch self {
        case .f32: UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: 4 * n)
        case .f16: HalfFloat.f16ToFloat(out, src, count: n)
        case .bf16: HalfFloat.bf16ToFloat(out, src, count: n)
        case .f64: for i in 0..<n { out[i] = Float(Double(bitPattern: load(i, UInt64.self))) }
        case .f8e5m2: for i in 0..<n { out[i] = HalfFloat.f16ToFloat(UInt16(src.load(fromByteOffset: i, as: UInt8.self)) << 8) }
        case .f8e4m3: for i in 0..<n { out[i] = SafeTensorsFile.f8e4m3ToFloat(src.load(fromByteOffset: i, as: UInt8.self)) }
        case .bool, .u8: for i in 0..<n { out[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        case .i8: for i in 0..<n { out[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .i16: for i in 0..<n { out[i] = Float(load(i, Int16.self)) }
        case .u16: for i in 0..<n { out[i] = Float(load(i, UInt16.self)) }
        case .i32: for i in 0..<n { out[i] = Float(load(i, Int32.self)) }
        case .u32: for i in 0..<n { out[i] = Float(load(i, UInt32.self)) }
        case .i64: for i in 0..<n { out[i] = Float(load(i, Int64.self)) }
        case .u64: for i in 0..<n { out[i] = Float(load(i, UInt64.self)) }
        }
    }
}

/// What the header says about one tensor.
public struct TensorInfo: Sendable, Equatable {
    public let dtype: DType
    public let shape: [Int]
    /// Byte range within the data section.
    public let dataOffsets: Range<Int>
    /// Number of elements (product of the shape).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Number of bytes of data.
    public var byteCount: Int { dataOffsets.count }
}

/// A failure reading a safetensors file: the file and what is wrong with it.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public enum Problem: Equatable, Sendable {
        /// The system refused an operation (open, stat, mmap); errno attached.
        case system(operation: String, code: Int32)
        case notARegularFile
        case fileTooShort(size: Int)
        case headerLengthTooLarge(length: UInt64, fileSize: Int)
        case headerNotUTF8
        case headerInvalidJSON(message: String, offset: Int)
        case headerNotObject
        case invalidEntry(name: String, reason: String)
        case unknownDType(name: String, dtype: String)
        case invalidShape(name: String, reason: String)
        case invalidDataOffsets(name: String, reason: String)
        case sizeMismatch(name: String, expected: Int, actual: Int)
        case overlap(name: String, other: String)
        case gap(name: String, at: Int)
        case dataSectionSize(expected: Int, actual: Int)
        case invalidMetadata(reason: String)
        case missingTensor(name: String)
        case shapeMismatch(name: String, expected: [Int], actual: [Int])
        case unsupportedConversion(name: String, dtype: DType, to: String)
        case valueOutOfRange(name: String, index: Int, to: String)
    }

    /// The file's path.
    public let path: String
    public let problem: Problem

    public init(path: String, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        let what: String
        switch problem {
        case let .system(op, code): what = "cannot \(op): \(String(cString: strerror(code)))"
        case .notARegularFile: what = "not a regular file"
        case let .fileTooShort(size): what = "file is \(size) bytes, shorter than the 8-byte header length"
        case let .headerLengthTooLarge(n, size):
            what = "header length \(n) does not fit in the file (\(size) bytes) or exceeds \(SafeTensorsFile.maxHeaderLength) bytes"
        case .headerNotUTF8: what = "header is not valid UTF-8"
        case let .headerInvalidJSON(message, offset): what = "header is not valid JSON: \(message) at header byte \(offset)"
        case .headerNotObject: what = "header is not a JSON object (it must start with '{')"
        case let .invalidEntry(name, reason): what = "tensor \"\(name)\": \(reason)"
        case let .unknownDType(name, dtype): what = "tensor \"\(name)\": unknown dtype \"\(dtype)\""
        case let .invalidShape(name, reason): what = "tensor \"\(name)\": invalid shape: \(reason)"
        case let .invalidDataOffsets(name, reason): what = "tensor \"\(name)\": invalid data_offsets: \(reason)"
        case let .sizeMismatch(name, expected, actual):
            what = "tensor \"\(name)\": data_offsets span \(actual) bytes but dtype and shape need \(expected)"
        case let .overlap(name, other): what = "tensor \"\(name)\" overlaps tensor \"\(other)\""
        case let .gap(name, at): what = "gap in the data section before tensor \"\(name)\" (data offset \(at))"
        case let .dataSectionSize(expected, actual):
            what = "tensors cover \(expected) bytes but the data section has \(actual)"
        case let .invalidMetadata(reason): what = "invalid __metadata__: \(reason)"
        case let .missingTensor(name): what = "no tensor named \"\(name)\""
        case let .shapeMismatch(name, expected, actual): what = "tensor \"\(name)\" has shape \(actual), expected \(expected)"
        case let .unsupportedConversion(name, dtype, to): what = "tensor \"\(name)\": cannot convert \(dtype.rawValue) to \(to)"
        case let .valueOutOfRange(name, index, to): what = "tensor \"\(name)\": element \(index) does not fit in \(to)"
        }
        return "\(path): \(what)"
    }
}

/// A safetensors file, memory-mapped read-only. The header is parsed and fully validated on
/// opening; tensor data is read (and converted) on request. The mapping lives as long as the
/// object.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Largest accepted JSON header, as in the reference implementation.
    public static let maxHeaderLength = 100_000_000

    /// The file's path, as given.
    public let path: String
    /// The header's `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Tensor names in data-offset order.
    public let names: [String]
    private let infos: [String: TensorInfo]
    private let base: UnsafeRawPointer
    private let mappedSize: Int
    /// Start of the data section within the mapping.
    private let dataStart: Int

    /// Opens and maps `path`, validating the header. Throws `SafeTensorsError`.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError(path: path, .system(operation: "open", code: errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError(path: path, .system(operation: "stat", code: errno)) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw SafeTensorsError(path: path, .notARegularFile) }
        let size = Int(st.st_size)
        guard size >= 8 else { throw SafeTensorsError(path: path, .fileTooShort(size: size)) }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw SafeTensorsError(path: path, .system(operation: "mmap", code: errno))
        }
        let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(m), count: size)
        do {
            let header = try Self.parseHeader(bytes, path: path)
            metadata = header.metadata
            names = header.names
            infos = header.infos
            dataStart = header.dataStart
        } catch {
            munmap(m, size)
            throw error
        }
        base = UnsafeRawPointer(m)
        mappedSize = size
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedSize) }

    /// Whether the file holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { infos[name] != nil }

    /// Header information for `name`, or nil when there is no such tensor.
    public func info(_ name: String) -> TensorInfo? { infos[name] }

    /// The stored bytes of `name` (little-endian, row-major), valid while this object lives.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let info = try require(name)
        return UnsafeRawBufferPointer(start: base + dataStart + info.dataOffsets.lowerBound, count: info.byteCount)
    }

    /// Tensor `name` converted to Float32 (any dtype; 64-bit integers may round).
    public func tensor(_ name: String) throws -> Tensor {
        let info = try require(name)
        let t = Tensor(shape: info.shape)
        convert(t.data, info)
        return t
    }

    /// Converts tensor `name` to Float32 into `out` (`shape`, row-major), e.g. a parameter's
    /// storage. Throws when the file's shape differs from `shape`.
    public func read(_ name: String, into out: UnsafeMutablePointer<Float>, shape: [Int]) throws {
        let info = try require(name)
        guard info.shape == shape else { throw SafeTensorsError(path: path, .shapeMismatch(name: name, expected: shape, actual: info.shape)) }
        convert(out, info)
    }

    /// out (info.elementCount) = the tensor's elements as Float32.
    private func convert(_ out: UnsafeMutablePointer<Float>, _ info: TensorInfo) {
        info.dtype.convertToFloat(out, base + dataStart + info.dataOffsets.lowerBound, count: info.elementCount)
    }

    /// Integer tensor `name` as Int64 values (any integer dtype; BOOL gives 0 and 1).
    public func int64s(_ name: String) throws -> [Int64] {
        try integers(name, to: "Int64")
    }

    /// Integer tensor `name` as Int32 values (any integer dtype; throws if a value does not fit).
    public func int32s(_ name: String) throws -> [Int32] {
        try integers(name, to: "Int32")
    }

    private func integers<I: FixedWidthInteger>(_ name: String, to typeName: String) throws -> [I] {
        let info = try require(name)
        guard info.dtype.isInteger else {
            throw SafeTensorsError(path: path, .unsupportedConversion(name: name, dtype: info.dtype, to: typeName))
        }
        let src = base + dataStart + info.dataOffsets.lowerBound
        let n = info.elementCount
        func convert<S: FixedWidthInteger>(_: S.Type) throws -> [I] {
            var out = [I]()
            out.reserveCapacity(n)
            for i in 0..<n {
                let v = load(src, i, S.self)
                guard let w = I(exactly: v) else {
                    throw SafeTensorsError(path: path, .valueOutOfRange(name: name, index: i, to: typeName))
                }
                out.append(w)
            }
            return out
        }
        switch info.dtype {
        case .bool, .u8: return try convert(UInt8.self)
        case .i8: return try convert(Int8.self)
        case .i16: return try convert(Int16.self)
        case .u16: return try convert(UInt16.self)
        case .i32: return try convert(Int32.self)
        case .u32: return try convert(UInt32.self)
        case .i64: return try convert(Int64.self)
        case .u64: return try convert(UInt64.self)
        default: fatalError("unreachable: \(info.dtype) is not an integer type")
        }
    }

    private func require(_ name: String) throws -> TensorInfo {
        guard let info = infos[name] else { throw SafeTensorsError(path: path, .missingTensor(name: name)) }
        return info
    }

    /// Element `i` of type T at `p` (little-endian, any alignment).
    @inline(__always)
    private func load<T: FixedWidthInteger>(_ p: UnsafeRawPointer, _ i: Int, _: T.Type) -> T {
        T(littleEndian: p.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
    }

    /// Float32 of an OCP FP8 E4M3 ("fn": bias 7, no infinities, S.1111.111 is NaN) value.
    static func f8e4m3ToFloat(_ b: UInt8) -> Float {
        let sign: Float = b & 0x80 != 0 ? -1 : 1
        let e = Int((b >> 3) & 0xF)
        let m = Float(b & 0x7)
        if e == 0xF && b & 0x7 == 0x7 { return .nan }
        if e == 0 { return sign * m * 0x1p-9 }
        return sign * (1 + m / 8) * Float(sign: .plus, exponent: e - 7, significand: 1)
    }
}
