/// CSV text as RFC 4180 writes it: fields joined by commas; a field holding a comma, a double
/// quote, CR or LF is enclosed in double quotes, with each of its quotes doubled. Lines end with
/// `lineEnding` ("\n" by default, as the project's files always had; RFC 4180 itself says CRLF).
public struct CSVWriter: Sendable {
    /// The text so far: every row added, each ended by `lineEnding`.
    public private(set) var text = ""
    public let lineEnding: String

    public init(lineEnding: String = "\n") {
        self.lineEnding = lineEnding
    }

    /// Appends one row.
    public mutating func row(_ fields: [String]) {
        text += fields.map(Self.field).joined(separator: ",")
        text += lineEnding
    }

    /// `value` as one CSV field: unchanged when it needs no quoting, else quoted with its quotes
    /// doubled.
    public static func field(_ value: String) -> String {
        // Bytes, not Characters: "\r\n" is one Character and would match neither "\r" nor "\n".
        guard value.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else { return value }
        var out = "\""
        for c in value.unicodeScalars {
            if c == "\"" { out += "\"\"" } else { out.unicodeScalars.append(c) }
        }
        return out + "\""
    }
}
