import Foundation

/// A JSON file format this project writes and reads back: one Codable type shared by the writer
/// and the reader. Every such file carries `format_version`; a reader refuses a version it does
/// not know with an error naming the file, before decoding anything else.
public protocol VersionedFile: Codable {
    /// What the file is, for messages (e.g. "run parameters").
    static var formatName: String { get }
    /// The `format_version` this build writes and reads.
    static var formatVersion: Int { get }
}

/// A project file that is missing, unreadable, of an unknown format version, or malformed.
public struct FormatError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// Reading and writing `VersionedFile`s as JSON.
public enum JSONFile {
    /// The encoder of project files: sorted keys, slashes unescaped, optionally pretty.
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// `value` as JSON text (pretty, sorted keys), ending in a newline.
    public static func data<T: Encodable>(_ value: T, pretty: Bool = true) throws -> Data {
        try encoder(pretty: pretty).encode(value) + Data("\n".utf8)
    }

    /// Writes `value` to `path` atomically (see `AtomicFile`).
    public static func write<T: VersionedFile>(_ value: T, to path: String) throws {
        try AtomicFile.write(data(value), to: path)
    }

    /// Reads `path` as a `T`. Errors name the file: missing, not JSON, a `format_version` other
    /// than `T.formatVersion` (or none), or fields that do not fit `T`.
    public static func read<T: VersionedFile>(_ type: T.Type, from path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FormatError(path: path, reason: "no such file or not readable (expected the \(T.formatName) file)")
        }
        return try decode(type, from: data, path: path)
    }

    /// Decodes `data` (the contents of `path`) as a `T`; see `read`.
    public static func decode<T: VersionedFile>(_ type: T.Type, from data: Data, path: String) throws -> T {
        let version: Int?
        do { version = try JSONDecoder().decode(VersionProbe.self, from: data).formatVersion } catch {
            throw FormatError(path: path, reason: "not a \(T.formatName) file: not a JSON object (\(Self.describe(error)))")
        }
        guard let version else {
            throw FormatError(path: path, reason: "not a \(T.formatName) file of this version: it has no format_version (written by an older version of mode? this build reads format_version \(T.formatVersion))")
        }
        guard version == T.formatVersion else {
            throw FormatError(path: path, reason: "\(T.formatName) format_version \(version) is not supported; this build reads format_version \(T.formatVersion)")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw FormatError(path: path, reason: "malformed \(T.formatName) file: \(Self.describe(error))")
        }
    }

    /// Checks a `format_version` found elsewhere (e.g. in safetensors metadata).
    public static func checkVersion(_ found: String?, expected: Int, format: String, path: String) throws {
        guard let found else {
            throw FormatError(path: path, reason: "no format_version (written by an older version of mode? this build reads \(format) format_version \(expected))")
        }
        guard Int(found) == expected else {
            throw FormatError(path: path, reason: "\(format) format_version \(found) is not supported; this build reads format_version \(expected)")
        }
    }

    /// A decoding error as one line: what was expected and where (the coding path).
    public static func describe(_ error: Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at \(p)"
        }
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let key, let c): return "missing \"\(key.stringValue)\"\(path(c))"
        case .typeMismatch(_, let c): return "\(c.debugDescription)\(path(c))"
        case .valueNotFound(_, let c): return "missing value\(path(c))"
        case .dataCorrupted(let c): return "\(c.debugDescription)\(path(c))"
        @unknown default: return "\(e)"
        }
    }

    private struct VersionProbe: Decodable {
        var formatVersion: Int?
        enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
    }
}
