import Foundation

/// A JSON value: what the strict parser (`JSONValue.parse`) reads from files other programs
/// write (safetensors headers, Hugging Face and open_clip configs, WebDataset `.json` members),
/// and what Codable types use to hold a field of any shape. Objects keep their members in file
/// order; numbers keep their text, so integers are read exactly (no detour through Double).
public enum JSONValue: Sendable, Equatable, Codable, CustomStringConvertible,
    ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByNilLiteral {
    case object([Member])
    case array([JSONValue])
    case string(String)
    /// The number as written (e.g. "42", "-0.5e3").
    case number(String)
    case bool(Bool)
    case null

    /// One member of an object.
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public init(booleanLiteral v: Bool) { self = .bool(v) }
    public init(integerLiteral v: Int) { self = .number(String(v)) }
    public init(stringLiteral v: String) { self = .string(v) }
    public init(nilLiteral: ()) { self = .null }

    /// Numbers are equal when their values are (1 == 1.0); objects when their members are, in order.
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.number(x), .number(y)): return x == y || (Double(x) != nil && Double(x) == Double(y))
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    // MARK: Reading values

    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The members of an object, nil for other values.
    public var members: [Member]? {
        if case .object(let m) = self { return m }
        return nil
    }

    /// The elements of an array, nil for other values.
    public var elements: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The value as an exact integer: a number written without fraction or exponent that fits
    /// in Int (so 1.0 and 1e3 are not integers, as for strict readers such as safetensors').
    public var integer: Int? {
        guard case .number(let text) = self, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
        return Int(text)
    }

    /// The value of a number.
    public var double: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// A short name of the value's kind, for error messages.
    public var kind: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number(let t): "the number \(t)"
        case .bool(let b): "\(b)"
        case .null: "null"
        }
    }

    /// Compact JSON text of the value.
    public var description: String {
        switch self {
        case .object(let m): return "{" + m.map { jsonQuoted($0.key) + ":" + $0.value.description }.joined(separator: ",") + "}"
        case .array(let a): return "[" + a.map(\.description).joined(separator: ",") + "]"
        case .string(let s): return jsonQuoted(s)
        case .number(let t): return t
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    // MARK: Parsing

    /// Parses JSON text (UTF-8). Throws `JSONValue.ParseError` with the byte offset.
    public static func parse(_ data: Data, maxDepth: Int = 64) throws -> JSONValue {
        guard String(validating: data, as: UTF8.self) != nil else { throw ParseError(message: "not valid UTF-8", offset: 0) }
        return try data.withUnsafeBytes { raw throws(ParseError) in try JSONParser.parse(raw, maxDepth: maxDepth) }
    }

    /// Reads and parses the JSON file at `path`; the error names the file.
    public static func read(_ path: String, maxDepth: Int = 64) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JSONFileError(path: path, reason: "no such file or not readable")
        }
        do { return try parse(data, maxDepth: maxDepth) } catch let e as ParseError {
            throw JSONFileError(path: path, reason: "not valid JSON: \(e.message) at byte \(e.offset)")
        }
    }

    /// A syntax error and the byte offset where it was found.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let message: String
        public let offset: Int
        public var description: String { "\(message) at byte \(offset)" }
    }

    // MARK: Codable

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .number(String(i)) }
        else if let d = try? c.decode(Double.self) { self = .number(d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)") }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else {
            let o = try decoder.container(keyedBy: JSONKey.self)
            self = .object(try o.allKeys.sorted { $0.stringValue < $1.stringValue }.map { Member($0.stringValue, try o.decode(JSONValue.self, forKey: $0)) })
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .object(let m):
            var c = encoder.container(keyedBy: JSONKey.self)
            for member in m { try c.encode(member.value, forKey: JSONKey(member.key)) }
        case .array(let a):
            var c = encoder.unkeyedContainer()
            for v in a { try c.encode(v) }
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .number(let t):
            var c = encoder.singleValueContainer()
            if let i = Int(t) { try c.encode(i) } else { try c.encode(Double(t) ?? .nan) }
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        }
    }
}

/// A coding key of any name (JSON object members).
public struct JSONKey: CodingKey, Hashable, Sendable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

/// A JSON file that cannot be read or parsed, naming the file.
public struct JSONFileError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// A strict RFC 8259 JSON parser over UTF-8 bytes. Rejects duplicate object keys, lone
/// surrogate escapes, control characters in strings and nesting deeper than `maxDepth`.
struct JSONParser {
    typealias Failure = JSONValue.ParseError

    private let bytes: UnsafeRawBufferPointer
    private var i = 0
    private let maxDepth: Int

    /// Parses one JSON value filling all of `bytes` (surrounding whitespace allowed). The bytes
    /// must already be valid UTF-8.
    static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(Failure) -> JSONValue {
        var p = JSONParser(bytes: bytes, maxDepth: maxDepth)
        p.skipWhitespace()
        let v = try p.value(depth: 0)
        p.skipWhitespace()
        if p.i != bytes.count { throw p.fail("unexpected data after the JSON value") }
        return v
    }

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private func fail(_ message: String) -> Failure { Failure(message: message, offset: i) }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 }
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws(Failure) {
        guard peek == c else { throw fail("expected \(what)") }
        i += 1
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard let c = peek else { throw fail("unexpected end of JSON") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("invalid literal") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
        i += n
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        if depth > maxDepth { throw fail("JSON nested deeper than \(maxDepth) levels") }
        i += 1  // {
        var members: [JSONValue.Member] = []
        var seen: Set<String> = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyOffset = i
            let key = try string()
            if !seen.insert(key).inserted { throw Failure(message: "duplicate key \"\(key)\"", offset: keyOffset) }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            members.append(JSONValue.Member(key, try value(depth: depth)))
            skipWhitespace()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(members)
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        if depth > maxDepth { throw fail("JSON nested deeper than \(maxDepth) levels") }
        i += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { i += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth))
            skipWhitespace()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(elements)
        }
    }

    private static func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }

    /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func number() throws(Failure) -> String {
        let start = i
        if peek == UInt8(ascii: "-") { i += 1 }
        if peek == UInt8(ascii: "0") {
            i += 1
        } else {
            guard Self.isDigit(peek) else { throw fail("invalid number") }
            while Self.isDigit(peek) { i += 1 }
        }
        if peek == UInt8(ascii: ".") {
            i += 1
            guard Self.isDigit(peek) else { throw fail("invalid number") }
            while Self.isDigit(peek) { i += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard Self.isDigit(peek) else { throw fail("invalid number") }
            while Self.isDigit(peek) { i += 1 }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func string() throws(Failure) -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw fail("unterminated string") }
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard let e = peek else { throw fail("unterminated string") }
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {  // high surrogate: a low one must follow
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("lone surrogate in \\u escape")
                    }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("lone surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw fail("lone surrogate in \\u escape")
                }
                out.append(contentsOf: String(Unicode.Scalar(scalar)!).utf8)
            default: throw fail("invalid escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// JSON text of `s` as a string literal (quotes added; `"`, `\` and control characters escaped).
package func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20:
            let hex = String(u.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
