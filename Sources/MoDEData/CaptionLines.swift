import Foundation

/// Captions read from a text file, one per line (\n or \r\n endings; a final newline adds no
/// line), with their 1-based line numbers.
public struct CaptionLines: Sendable, Equatable {
    public var texts: [String]
    /// The line number of each text.
    public var lines: [Int]
    /// Blank (empty or whitespace-only) lines skipped.
    public var skipped: Int

    /// Reads `path` (UTF-8). A blank line is an error naming it, unless `skipBlank`: then it is
    /// skipped and counted.
    public static func read(_ path: String, skipBlank: Bool) throws -> CaptionLines {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path, "no such file or not readable")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw DataError.invalid(path, "not valid UTF-8")
        }
        return try parse(text, path: path, skipBlank: skipBlank)
    }

    /// The captions of `text` (see `read`); `path` is for messages.
    public static func parse(_ text: String, path: String, skipBlank: Bool) throws -> CaptionLines {
        var out = CaptionLines(texts: [], lines: [], skipped: 0)
        // Split on the scalar \n: as Characters, "\r\n" is one grapheme and would not split.
        var parts = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        if let last = parts.last, last.isEmpty { parts.removeLast() }
        for (i, part) in parts.enumerated() {
            var scalars = part
            if scalars.last == "\r" { scalars.removeLast() }
            let line = String(String.UnicodeScalarView(scalars))
            if line.allSatisfy(\.isWhitespace) {
                guard skipBlank else {
                    throw DataError.invalid(path, "line \(i + 1) is blank (use --skip-blank to skip blank lines)")
                }
                out.skipped += 1
                continue
            }
            out.texts.append(line)
            out.lines.append(i + 1)
        }
        return out
    }
}
