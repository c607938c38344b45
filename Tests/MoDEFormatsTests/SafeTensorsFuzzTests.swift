import Foundation
import Testing
import TestSupport
@testable import MoDENN
import MoDETensor
@testable import MoDEFormats

/// Malformed and mutated files: every case must either throw a `SafeTensorsError` naming the
/// file, or open and read consistently. Nothing may crash.
@Suite struct SafeTensorsFuzzTests {
    /// A small valid file with several dtypes, metadata and a zero-size tensor.
    static func validFile() -> [UInt8] {
        var w = SafeTensorsWriter()
        w.add("w", Tensor(shape: [2, 3], values: [1, -2, 3, 0.5, 0, 7]))
        w.add("h", Tensor(shape: [3], values: [1, 2, 3]), as: .bf16)
        w.add("ids", int64s: [1, -2], shape: [2])
        w.add("none", Tensor(shape: [0]))
        w.add("idx", int32s: [5, 6, 7], shape: [1, 3])
        return w.serialized(metadata: ["k": "v"])
    }

    /// Header length field of `file`.
    static func headerLength(_ file: [UInt8]) -> Int {
        Int(file[0..<8].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
    }

    /// A file made of `header` (used verbatim) and `data`.
    static func file(header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        return withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { Array($0) } + h + data
    }

    enum Outcome: Equatable {
        case opened(names: [String])
        case failed(SafeTensorsError.Problem)
    }

    /// Opens `bytes` written to `path`; checks the error names the file, or that every tensor
    /// reads consistently with its header entry.
    @discardableResult
    static func open(_ bytes: [UInt8], at path: String, sourceLocation: SourceLocation = #_sourceLocation) -> Outcome? {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        } catch {
            Issue.record("cannot write \(path): \(error)", sourceLocation: sourceLocation)
            return nil
        }
        do {
            let f = try SafeTensorsFile(path: path)
            var covered = 0
            for name in f.names {
                guard let info = f.info(name) else {
                    Issue.record("\(name) listed without info", sourceLocation: sourceLocation)
                    continue
                }
                covered += info.byteCount
                #expect(info.byteCount == info.elementCount * info.dtype.size, sourceLocation: sourceLocation)
                #expect(try f.rawBytes(name).count == info.byteCount, sourceLocation: sourceLocation)
                let t = try f.tensor(name)
                #expect(t.shape == info.shape, sourceLocation: sourceLocation)
                if info.dtype.isInteger {
                    do {
                        #expect(try f.int64s(name).count == info.elementCount, sourceLocation: sourceLocation)
                        #expect(try f.int32s(name).count == info.elementCount, sourceLocation: sourceLocation)
                    } catch let e as SafeTensorsError {
                        guard case .valueOutOfRange = e.problem else { throw e }
                    }
                }
            }
            #expect(covered == bytes.count - 8 - headerLength(bytes), sourceLocation: sourceLocation)
            return .opened(names: f.names)
        } catch let e as SafeTensorsError {
            #expect(e.path == path && e.description.hasPrefix(path + ": "), sourceLocation: sourceLocation)
            return .failed(e.problem)
        } catch {
            Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    @Test func validFileOpens() throws {
        let dir = try TempDirectory()
        let outcome = Self.open(Self.validFile(), at: dir.file("ok.safetensors"))
        #expect(outcome == .opened(names: ["w", "h", "ids", "none", "idx"]))
    }

    @Test func everyTruncationFails() throws {
        let dir = try TempDirectory()
        let path = dir.file("cut.safetensors")
        let full = Self.validFile()
        for n in 0..<full.count {
            let outcome = Self.open(Array(full[0..<n]), at: path)
            guard case .failed(let problem)? = outcome else {
                Issue.record("truncated to \(n) of \(full.count) bytes: \(String(describing: outcome))")
                continue
            }
            if n < 8 { #expect(problem == .fileTooShort(size: n)) }
        }
    }

    @Test func mutatedHeadersNeverCrash() throws {
        let dir = try TempDirectory()
        let path = dir.file("mut.safetensors")
        let full = Self.validFile()
        let headerEnd = 8 + Self.headerLength(full)
        var rng = SeededRNG(seed: 2024)
        var opened = 0
        let alphabet = Array("{}[]\",:0123456789-.eE \\u_abcdefFIUBOL".utf8)
        for k in 0..<400 {
            var bytes = full
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let i = Int(rng.next() % UInt64(headerEnd))
                switch k % 4 {
                case 0: bytes[i] ^= UInt8(1 << (rng.next() % 8))                       // flip one bit
                case 1: bytes[i] = UInt8(truncatingIfNeeded: rng.next())               // any byte
                case 2: bytes[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]  // a JSON-ish byte
                default:                                                               // a digit inside the header
                    bytes[max(8, i)] = UInt8(ascii: "0") + UInt8(rng.next() % 10)
                }
            }
            if case .opened? = Self.open(bytes, at: path) { opened += 1 }
        }
        // Some mutations keep the file valid (e.g. inside the metadata value or the padding).
        #expect(opened > 0 && opened < 100, "\(opened) of 400 mutated files opened")
    }

    /// One hand-made malformed file per validation rule, with the problem it must report.
    static let badFiles: [(String, [UInt8], SafeTensorsError.Problem)] = {
        let f32x2 = [UInt8](repeating: 0, count: 8)
        let entry = { (name: String, dtype: String, shape: String, offsets: String) in
            "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
        }
        let one = { (dtype: String, shape: String, offsets: String) in file(header: "{" + entry("t", dtype, shape, offsets) + "}", data: f32x2) }
        return [
            ("empty file", [], .fileTooShort(size: 0)),
            ("7 bytes", [1, 0, 0, 0, 0, 0, 0], .fileTooShort(size: 7)),
            ("length past the end", file(header: "{}", length: 1000), .headerLengthTooLarge(length: 1000, fileSize: 10)),
            ("absurd length", file(header: "{}", length: 200_000_000), .headerLengthTooLarge(length: 200_000_000, fileSize: 10)),
            ("huge length", file(header: "{}", length: .max), .headerLengthTooLarge(length: .max, fileSize: 10)),
            ("not UTF-8", withUnsafeBytes(of: UInt64(3).littleEndian) { Array($0) } + [0x7B, 0xFF, 0x7D], .headerNotUTF8),
            ("leading space", file(header: " {}"), .headerNotObject),
            ("array", file(header: "[]"), .headerNotObject),
            ("empty header", file(header: ""), .headerNotObject),
            ("unclosed", file(header: "{"), .headerInvalidJSON(message: "expected a string key", offset: 1)),
            ("trailing text", file(header: "{} x"), .headerInvalidJSON(message: "unexpected data after the JSON value", offset: 3)),
            ("trailing comma", file(header: "{\"a\":1,}"), .headerInvalidJSON(message: "expected a string key", offset: 7)),
            ("duplicate key", file(header: "{\"__metadata__\":{},\"__metadata__\":{}}"),
             .headerInvalidJSON(message: "duplicate key \"__metadata__\"", offset: 19)),
            ("lone surrogate", file(header: "{\"\\ud800\":1}"), .headerInvalidJSON(message: "lone surrogate in \\u escape", offset: 8)),
            ("control character", file(header: "{\"a\u{1}\":1}"), .headerInvalidJSON(message: "control character in string", offset: 3)),
            ("deep nesting", file(header: "{\"__metadata__\":" + String(repeating: "[", count: 100_000)),
             .headerInvalidJSON(message: "JSON nested deeper than 64 levels", offset: 16 + 63)),  // the 64th "[" is level 65
            ("entry not an object", file(header: "{\"t\":5}"), .invalidEntry(name: "t", reason: "expected an object, found the number 5")),
            ("missing dtype", file(header: "{\"t\":{\"shape\":[],\"data_offsets\":[0,0]}}"), .invalidEntry(name: "t", reason: "missing \"dtype\"")),
            ("missing shape", file(header: "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,0]}}"), .invalidEntry(name: "t", reason: "missing \"shape\"")),
            ("missing offsets", file(header: "{\"t\":{\"dtype\":\"F32\",\"shape\":[0]}}"), .invalidEntry(name: "t", reason: "missing \"data_offsets\"")),
            ("dtype not a string", file(header: "{\"t\":{\"dtype\":4,\"shape\":[0],\"data_offsets\":[0,0]}}"),
             .invalidEntry(name: "t", reason: "\"dtype\" is not a string")),
            ("unknown dtype", one("F17", "[2]", "[0,8]"), .unknownDType(name: "t", dtype: "F17")),
            ("lower-case dtype", one("f32", "[2]", "[0,8]"), .unknownDType(name: "t", dtype: "f32")),
            ("negative dim", one("F32", "[-2]", "[0,8]"), .invalidShape(name: "t", reason: "negative dimension -2")),
            ("fractional dim", one("F32", "[2.0]", "[0,8]"), .invalidShape(name: "t", reason: "the number 2.0 is not an integer")),
            ("exponent dim", one("F32", "[2e0]", "[0,8]"), .invalidShape(name: "t", reason: "the number 2e0 is not an integer")),
            ("string dim", one("F32", "[\"2\"]", "[0,8]"), .invalidShape(name: "t", reason: "a string is not an integer")),
            ("dim too large for Int", one("F32", "[99999999999999999999]", "[0,8]"),
             .invalidShape(name: "t", reason: "the number 99999999999999999999 is not an integer")),
            ("shape not an array", one("F32", "2", "[0,8]"), .invalidShape(name: "t", reason: "not an array")),
            ("element count overflow", one("F32", "[4294967296,4294967296]", "[0,8]"),
             .invalidShape(name: "t", reason: "element count overflows")),
            ("byte size overflow", one("F64", "[4611686018427387904]", "[0,8]"), .invalidShape(name: "t", reason: "byte size overflows")),
            ("offsets not an array", one("F32", "[2]", "8"), .invalidDataOffsets(name: "t", reason: "not an array")),
            ("one offset", one("F32", "[2]", "[8]"), .invalidDataOffsets(name: "t", reason: "1 values, expected 2")),
            ("three offsets", one("F32", "[2]", "[0,8,8]"), .invalidDataOffsets(name: "t", reason: "3 values, expected 2")),
            ("fractional offset", one("F32", "[2]", "[0,8.5]"), .invalidDataOffsets(name: "t", reason: "values must be integers")),
            ("negative offset", one("F32", "[2]", "[-8,0]"), .invalidDataOffsets(name: "t", reason: "negative offset")),
            ("begin after end", one("F32", "[0]", "[8,0]"), .invalidDataOffsets(name: "t", reason: "begin 8 > end 0")),
            ("end past data", one("F32", "[4]", "[0,16]"), .invalidDataOffsets(name: "t", reason: "end 16 is past the data section (8 bytes)")),
            ("size mismatch", one("F32", "[1]", "[0,8]"), .sizeMismatch(name: "t", expected: 4, actual: 8)),
            ("dtype size mismatch", one("F16", "[2]", "[0,8]"), .sizeMismatch(name: "t", expected: 4, actual: 8)),
            ("overlap", file(header: "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}",
                             data: [UInt8](repeating: 0, count: 12)), .overlap(name: "b", other: "a")),
            ("same range twice", file(header: "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "I32", "[2]", "[0,8]") + "}",
                                      data: f32x2), .overlap(name: "b", other: "a")),
            ("gap", file(header: "{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("b", "F32", "[1]", "[8,12]") + "}",
                         data: [UInt8](repeating: 0, count: 12)), .gap(name: "b", at: 4)),
            ("leading gap", one("F32", "[1]", "[4,8]"), .gap(name: "t", at: 0)),
            ("trailing data", one("F32", "[1]", "[0,4]"), .dataSectionSize(expected: 4, actual: 8)),
            ("data without tensors", file(header: "{}", data: [1]), .dataSectionSize(expected: 0, actual: 1)),
            ("metadata not an object", file(header: "{\"__metadata__\":[]}"), .invalidMetadata(reason: "expected an object, found an array")),
            ("metadata value a number", file(header: "{\"__metadata__\":{\"seed\":1}}"),
             .invalidMetadata(reason: "value of \"seed\" is the number 1, not a string")),
            ("metadata value null", file(header: "{\"__metadata__\":{\"x\":null}}"), .invalidMetadata(reason: "value of \"x\" is null, not a string")),
        ]
    }()

    @Test func eachValidationRuleReportsItsProblem() throws {
        let dir = try TempDirectory()
        for (what, bytes, expected) in Self.badFiles {
            let path = dir.file("bad.safetensors")
            let outcome = Self.open(bytes, at: path)
            #expect(outcome == .failed(expected), "\(what)")
        }
    }

    /// Unusual but valid headers the reference implementation also accepts.
    @Test func acceptsValidEdgeCases() throws {
        let dir = try TempDirectory()
        let path = dir.file("edge.safetensors")
        let cases: [([UInt8], [String])] = [
            (Self.file(header: "{}"), []),
            (Self.file(header: "{}      "), []),                                    // space padding
            (Self.file(header: "{ \"__metadata__\" : { } }\n\t\r"), []),            // whitespace anywhere
            (Self.file(header: "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":[1,{}]}}", data: [9]), ["t"]),
            (Self.file(header: "{\"\\u00e9\\n\\\"\":{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[0,1]}}", data: [1]), ["é\n\""]),
            (Self.file(header: "{\"\\ud83d\\ude00\":{\"dtype\":\"I8\",\"shape\":[1,1],\"data_offsets\":[0,1]}}", data: [0xFF]), ["😀"]),
            (Self.file(header: "{\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]}}"), ["z"]),
        ]
        for (bytes, names) in cases {
            #expect(Self.open(bytes, at: path) == .opened(names: names))
        }
        let f = try SafeTensorsFile(path: path)
        #expect(try f.tensor("z").shape == [0, 5])
    }
}
