/// open_clip's pre-tokenizer, written out by hand: the matches of the pattern
///
///     <start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
///
/// compiled by Python's `regex` module with IGNORECASE, found left to right (`regex.findall`).
/// Alternatives are tried in order at each position; where none matches (whitespace, and
/// U+0345, see below) the scan moves on by one code point.
///
/// What the classes mean in `regex` (checked over all code points by the tests):
/// - `\p{L}`: general categories Lu, Ll, Lt, Lm, Lo. `\p{N}`: Nd, Nl, No. `regex` ships a newer
///   Unicode than this Swift toolchain: code points unassigned here but letters or numbers there
///   are listed in `newerLetters` / `newerNumbers`.
/// - `\s`: the White_Space property.
/// - IGNORECASE: "s" also matches U+017F ſ (its case fold); U+0345 (a mark whose upper case is
///   Ι) matches none of the three classes, because its case variants are letters.
enum CLIPPreTokenizer {
    /// The pre-tokens of `text` (code points) as index ranges, in order.
    static func split(_ text: [UInt32]) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        var i = 0
        let n = text.count
        while i < n {
            let c = text[i]
            if c == 0x3C, let len = specialLength(text, i) {  // "<"
                pieces.append(i..<(i + len))
                i += len
            } else if c == 0x27, let len = contractionLength(text, i) {  // "'"
                pieces.append(i..<(i + len))
                i += len
            } else if isLetter(c) {
                var j = i + 1
                while j < n, isLetter(text[j]) { j += 1 }
                pieces.append(i..<j)
                i = j
            } else if isNumber(c) {
                pieces.append(i..<(i + 1))
                i += 1
            } else if isOther(c) {
                var j = i + 1
                while j < n, isOther(text[j]) { j += 1 }
                pieces.append(i..<j)
                i = j
            } else {
                i += 1
            }
        }
        return pieces
    }

    private static let specials: [[UInt32]] = ["<start_of_text>", "<end_of_text>"].map { $0.unicodeScalars.map(\.value) }
    private static let contractions: [[UInt32]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { $0.unicodeScalars.map(\.value) }

    /// Case-insensitive equality with a pattern character (ASCII in these patterns), as `regex` has it.
    @inline(__always)
    private static func matchesIgnoringCase(_ c: UInt32, _ p: UInt32) -> Bool {
        if c == p { return true }
        if p >= 0x61 && p <= 0x7A {
            if c == p - 0x20 { return true }
            if p == 0x73 && c == 0x017F { return true }  // ſ folds to s
        }
        return false
    }

    private static func literalLength(_ lits: [[UInt32]], _ text: [UInt32], _ i: Int) -> Int? {
        for lit in lits where i + lit.count <= text.count {
            var ok = true
            for (k, p) in lit.enumerated() where !matchesIgnoringCase(text[i + k], p) {
                ok = false
                break
            }
            if ok { return lit.count }
        }
        return nil
    }

    private static func specialLength(_ text: [UInt32], _ i: Int) -> Int? { literalLength(specials, text, i) }
    private static func contractionLength(_ text: [UInt32], _ i: Int) -> Int? { literalLength(contractions, text, i) }

    /// `[\p{L}]` under IGNORECASE.
    @inline(__always)
    static func isLetter(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
        guard let u = Unicode.Scalar(c) else { return false }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        case .unassigned: return newerLetters.contains { $0.contains(c) }
        default: return false
        }
    }

    /// `[\p{N}]` under IGNORECASE.
    @inline(__always)
    static func isNumber(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x30 && c <= 0x39 }
        guard let u = Unicode.Scalar(c) else { return false }
        switch u.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        case .unassigned: return newerNumbers.contains { $0.contains(c) }
        default: return false
        }
    }

    /// `\s`: the White_Space property.
    @inline(__always)
    static func isSpace(_ c: UInt32) -> Bool {
        switch c {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// `[^\s\p{L}\p{N}]` under IGNORECASE (U+0345 excluded: its case variant Ι is a letter).
    @inline(__always)
    static func isOther(_ c: UInt32) -> Bool {
        c != 0x0345 && !isSpace(c) && !isLetter(c) && !isNumber(c)
    }

    /// Letters in the `regex` module's Unicode tables that this Swift's tables leave unassigned.
    static let newerLetters: [ClosedRange<UInt32>] = [
        0x0558...0x0558, 0x058B...0x058C, 0x208F...0x208F, 0x209D...0x209F, 0xA7DD...0xA7DD, 0xA7E2...0xA7E2,
        0xAB6C...0xAB6D, 0x107BB...0x107BF, 0x10ED9...0x10EEE, 0x11B0A...0x11B0A, 0x11DF1...0x11DF1,
        0x18CD6...0x18CDA, 0x18D1F...0x18D20, 0x18E00...0x19191, 0x191A0...0x191D2, 0x1B123...0x1B128,
        0x1B168...0x1B168, 0x1D6A6...0x1D6A6, 0x1DF1F...0x1DF24, 0x1DF2B...0x1DF81, 0x1DF90...0x1DF96,
        0x1DFCD...0x1DFFF, 0x2B81E...0x2B81E, 0x3D000...0x3FC3F,
    ]

    /// Numbers in the `regex` module's Unicode tables that this Swift's tables leave unassigned.
    static let newerNumbers: [ClosedRange<UInt32>] = [0x1246F...0x1246F, 0x12475...0x1247F, 0x12550...0x12686]
}
