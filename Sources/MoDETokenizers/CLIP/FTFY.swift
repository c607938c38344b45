import Foundation

/// `ftfy.fix_text` with its default configuration (ftfy 6.3), as open_clip applies it to every
/// caption. Text is handled as code points (`[UInt32]`). Each fixer mirrors the ftfy function of
/// the same name; `fixEncoding` (mojibake repair) lives in `Mojibake`.
///
/// Not reproduced: `fix_surrogates`, because a Swift string cannot hold unpaired UTF-16
/// surrogates in the first place (invalid input is replaced with U+FFFD when it is decoded).
enum FTFY {
    /// Longest segment ftfy fixes at once (`max_decode_length`).
    static let maxSegmentLength = 1_000_000

    /// `ftfy.fix_text(text)`: fixes each line (segment ending after "\n", at most
    /// `maxSegmentLength` code points) until nothing changes. HTML references are decoded only
    /// while no segment so far has contained "<" (ftfy's "auto" rule; once switched off it stays
    /// off for the rest of the text).
    static func fixText(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var unescape = true
        var pos = 0
        while pos < text.count {
            var end = pos
            while end < text.count, text[end] != 0x0A { end += 1 }
            if end < text.count { end += 1 }  // the "\n" belongs to its segment
            end = min(end, pos + maxSegmentLength)
            let segment = Array(text[pos..<end])
            if unescape, segment.contains(0x3C) { unescape = false }
            out += fixSegment(segment, unescapeHTML: unescape)
            pos = end
        }
        return out
    }

    /// `ftfy.fix_and_explain(segment)` without the explanation.
    static func fixSegment(_ segment: [UInt32], unescapeHTML: Bool) -> [UInt32] {
        var text = segment
        // Plain ASCII without "&", control characters or ESC passes every fixer unchanged.
        if isTrivial(text) { return text }
        while true {
            let original = text
            if unescapeHTML { text = HTMLUnescape.ftfyUnescape(text) }
            text = Mojibake.fixEncoding(text)
            text = fixC1Controls(text)
            text = mapEach(text, ligatures)
            text = mapEach(text, widthForms)
            text = uncurlQuotes(text)
            text = fixLineBreaks(text)
            text = removeTerminalEscapes(text)
            text = removeControlCharacters(text)
            text = nfc(text)
            if text == original { return text }
        }
    }

    /// True when no fixer can change `text`: printable ASCII, "\t", "\n" or "\f", and no "&".
    private static func isTrivial(_ text: [UInt32]) -> Bool {
        for c in text {
            if c >= 0x7F || c == 0x26 { return false }
            if c < 0x20, c != 0x09, c != 0x0A, c != 0x0C { return false }
        }
        return true
    }

    /// `fix_c1_controls`: U+0080…U+009F become the windows-1252 characters of those bytes.
    static func fixC1Controls(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(where: { $0 >= 0x80 && $0 <= 0x9F }) else { return text }
        return text.map { $0 >= 0x80 && $0 <= 0x9F ? CodePages.windows1252Sloppy[Int($0) - 0x80] : $0 }
    }

    /// `fix_latin_ligatures` table: ﬁ → fi, Ĳ → IJ, …
    static let ligatures: [UInt32: [UInt32]] = Dictionary(uniqueKeysWithValues: TextTables.ligatures)

    /// `fix_character_width` table: fullwidth ASCII and halfwidth kana/Hangul to standard forms,
    /// U+3000 to a space.
    static let widthForms: [UInt32: [UInt32]] = Dictionary(uniqueKeysWithValues: TextTables.widthForms)

    /// `str.translate(table)`.
    private static func mapEach(_ text: [UInt32], _ table: [UInt32: [UInt32]]) -> [UInt32] {
        guard text.contains(where: { $0 >= 0x0132 && table[$0] != nil }) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        for c in text {
            if c >= 0x0132, let r = table[c] { out += r } else { out.append(c) }
        }
        return out
    }

    /// `uncurl_quotes`: U+02BC and U+2018…U+201B become "'", U+201C…U+201F become '"'.
    static func uncurlQuotes(_ text: [UInt32]) -> [UInt32] {
        text.map { c in
            switch c {
            case 0x02BC, 0x2018...0x201B: return 0x27
            case 0x201C...0x201F: return 0x22
            default: return c
            }
        }
    }

    /// `fix_line_breaks`: "\r\n", "\r", U+2028, U+2029 and U+0085 become "\n".
    static func fixLineBreaks(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(where: { $0 == 0x0D || $0 == 0x85 || $0 == 0x2028 || $0 == 0x2029 }) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == 0x0D, i + 1 < text.count, text[i + 1] == 0x0A {
                out.append(0x0A)
                i += 2
                continue
            }
            out.append(c == 0x0D || c == 0x85 || c == 0x2028 || c == 0x2029 ? 0x0A : c)
            i += 1
        }
        return out
    }

    /// `remove_terminal_escapes`: drops ANSI sequences ESC "[" (digits | ";")* letter, where a
    /// digit is any Unicode decimal digit (Python `re`'s `\d`) and the letter is ASCII.
    static func removeTerminalEscapes(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(0x1B) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == 0x1B, i + 1 < text.count, text[i + 1] == 0x5B {
                var j = i + 2
                while j < text.count, text[j] == 0x3B || PythonUnicode.isDecimalDigit(text[j]) { j += 1 }
                if j < text.count, (text[j] >= 0x41 && text[j] <= 0x5A) || (text[j] >= 0x61 && text[j] <= 0x7A) {
                    i = j + 1
                    continue
                }
            }
            out.append(text[i])
            i += 1
        }
        return out
    }

    /// `remove_control_chars`: drops U+0000…U+0008, U+000B, U+000E…U+001F, U+007F,
    /// U+206A…U+206F, U+FEFF and U+FFF9…U+FFFC.
    static func removeControlCharacters(_ text: [UInt32]) -> [UInt32] {
        func drop(_ c: UInt32) -> Bool {
            switch c {
            case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
            default: return false
            }
        }
        guard text.contains(where: drop) else { return text }
        return text.filter { !drop($0) }
    }

    /// Unicode NFC as CPython 3.11 computes it. Characters newer than its Unicode 14.0 database
    /// are unassigned there: starters that never compose or decompose, so the text is normalized
    /// in pieces between them and they are kept as they are.
    static func nfc(_ text: [UInt32]) -> [UInt32] {
        // Everything below U+0300 is NFC and composes with nothing that precedes it.
        guard text.contains(where: { $0 >= 0x0300 }) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var start = 0
        for (i, c) in text.enumerated() {
            guard c >= 0x0300, let u = Unicode.Scalar(c), !PythonUnicode.isKnown(u) else { continue }
            out += nfcKnown(Array(text[start..<i]))
            out.append(c)
            start = i + 1
        }
        out += nfcKnown(Array(text[start...]))
        return out
    }

    private static func nfcKnown(_ piece: [UInt32]) -> [UInt32] {
        guard piece.contains(where: { $0 >= 0x0300 }) else { return piece }
        return PythonUnicode.scalars(PythonUnicode.string(piece).precomposedStringWithCanonicalMapping)
    }
}
