import Foundation

/// One `Encodable` value as one line of JSON with sorted keys and unescaped slashes (the form
/// the peer scripts print and compare by key).
public enum JSONLine {
    /// The JSON text of `value`, without a line break.
    public static func string<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Writes `value` to standard output as one line.
    public static func print<T: Encodable>(_ value: T) throws {
        Swift.print(try string(value))
    }
}
