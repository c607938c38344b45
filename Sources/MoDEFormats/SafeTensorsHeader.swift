#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MoDETensor

extension SafeTensorsFile {
    // MARK: Header parsing and validation

    struct Header {
        var metadata: [String: String] = [:]
        var names: [String] = []
        var infos: [String: TensorInfo] = [:]
        var dataStart = 0
    }

    /// Parses and validates the header of the complete file `bytes`.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Header {
        func fail(_ p: SafeTensorsError.Problem) -> SafeTensorsError { SafeTensorsError(path: path, p) }
        guard bytes.count >= 8 else { throw fail(.fileTooShort(size: bytes.count)) }
        let n = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(maxHeaderLength), 8 + Int(n) <= bytes.count else {
            throw fail(.headerLengthTooLarge(length: n, fileSize: bytes.count))
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + Int(n))])
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw fail(.headerNotUTF8) }
        // Like the reference implementation, no leading whitespace before the object.
        guard headerBytes.first == UInt8(ascii: "{") else { throw fail(.headerNotObject) }
        let json: JSONValue
        do {
            json = try JSONParser.parse(headerBytes)
        } catch {
            throw fail(.headerInvalidJSON(message: error.message, offset: error.offset))
        }
        guard case .object(let members) = json else { throw fail(.headerNotObject) }

        var header = Header()
        header.dataStart = 8 + Int(n)
        let dataSize = bytes.count - header.dataStart
        var entries: [(name: String, info: TensorInfo)] = []
        for member in members {
            let (name, value) = (member.key, member.value)
            if name == "__metadata__" {
                header.metadata = try parseMetadata(value, fail)
                continue
            }
            let info = try parseEntry(name, value, dataSize: dataSize, fail)
            entries.append((name, info))
        }

        // Tensors must tile the data section: sorted by offset, each begins where the last ended.
        entries.sort {
            ($0.info.dataOffsets.lowerBound, $0.info.dataOffsets.upperBound, $0.name)
                < ($1.info.dataOffsets.lowerBound, $1.info.dataOffsets.upperBound, $1.name)
        }
        var end = 0
        var previous: String?
        for (name, info) in entries {
            let r = info.dataOffsets
            if r.lowerBound < end, let previous { throw fail(.overlap(name: name, other: previous)) }
            if r.lowerBound > end { throw fail(.gap(name: name, at: end)) }
            end = r.upperBound
            previous = name
            header.names.append(name)
            header.infos[name] = info
        }
        guard end == dataSize else { throw fail(.dataSectionSize(expected: end, actual: dataSize)) }
        return header
    }

    private static func parseMetadata(_ value: JSONValue, _ fail: (SafeTensorsError.Problem) -> SafeTensorsError) throws -> [String: String] {
        guard case .object(let members) = value else { throw fail(.invalidMetadata(reason: "expected an object, found \(value.kind)")) }
        var out: [String: String] = [:]
        for member in members {
            let (key, v) = (member.key, member.value)
            guard case .string(let s) = v else {
                throw fail(.invalidMetadata(reason: "value of \"\(key)\" is \(v.kind), not a string"))
            }
            out[key] = s
        }
        return out
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, dataSize: Int,
                                   _ fail: (SafeTensorsError.Problem) -> SafeTensorsError) throws -> TensorInfo {
        guard case .object(let fields) = value else { throw fail(.invalidEntry(name: name, reason: "expected an object, found \(value.kind)")) }
        func field(_ key: String) throws -> JSONValue {
            guard let v = fields.first(where: { $0.key == key })?.value else {
                throw fail(.invalidEntry(name: name, reason: "missing \"\(key)\""))
            }
            return v
        }
        // dtype
        guard case .string(let dtypeName) = try field("dtype") else {
            throw fail(.invalidEntry(name: name, reason: "\"dtype\" is not a string"))
        }
        guard let dtype = DType(rawValue: dtypeName) else { throw fail(.unknownDType(name: name, dtype: dtypeName)) }
        // shape
        guard case .array(let dims) = try field("shape") else { throw fail(.invalidShape(name: name, reason: "not an array")) }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard let k = d.integer else { throw fail(.invalidShape(name: name, reason: "\(d.kind) is not an integer")) }
            guard k >= 0 else { throw fail(.invalidShape(name: name, reason: "negative dimension \(k)")) }
            let (product, overflow) = count.multipliedReportingOverflow(by: k)
            guard !overflow else { throw fail(.invalidShape(name: name, reason: "element count overflows")) }
            count = product
            shape.append(k)
        }
        let (expectedBytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow else { throw fail(.invalidShape(name: name, reason: "byte size overflows")) }
        // data_offsets
        guard case .array(let offsets) = try field("data_offsets") else {
            throw fail(.invalidDataOffsets(name: name, reason: "not an array"))
        }
        guard offsets.count == 2 else { throw fail(.invalidDataOffsets(name: name, reason: "\(offsets.count) values, expected 2")) }
        guard let begin = offsets[0].integer, let end = offsets[1].integer else {
            throw fail(.invalidDataOffsets(name: name, reason: "values must be integers"))
        }
        guard begin >= 0, end >= 0 else { throw fail(.invalidDataOffsets(name: name, reason: "negative offset")) }
        guard begin <= end else { throw fail(.invalidDataOffsets(name: name, reason: "begin \(begin) > end \(end)")) }
        guard end <= dataSize else {
            throw fail(.invalidDataOffsets(name: name, reason: "end \(end) is past the data section (\(dataSize) bytes)"))
        }
        guard end - begin == expectedBytes else { throw fail(.sizeMismatch(name: name, expected: expectedBytes, actual: end - begin)) }
        return TensorInfo(dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }
}
