/// Python `str` semantics that open_clip's text cleaning relies on, over Unicode code points
/// (`[UInt32]`, one element per scalar, as Python indexes strings).
///
/// CPython answers character questions from its own Unicode database; open_clip's reference
/// environment runs CPython 3.11, whose database is Unicode 14.0. Swift's tables are newer, so
/// every property read here is limited to characters that Unicode 14.0 already assigned: to
/// CPython 3.11 a later character has category Cn, no case mapping and no other property.
enum PythonUnicode {
    /// The Unicode version of CPython 3.11's `unicodedata`.
    static let version = (major: 14, minor: 0)

    /// True when CPython 3.11 knows `u` (assigned in Unicode 14.0 or earlier).
    @inline(__always)
    static func isKnown(_ u: Unicode.Scalar) -> Bool {
        if u.value < 0x0378 { return true }  // all assigned long ago (and unassigned ones have no properties)
        guard let age = u.properties.age else { return false }
        return age.major < version.major || (age.major == version.major && age.minor <= version.minor)
    }

    /// `str.isspace()`: general category Zs or bidirectional class WS, B or S.
    @inline(__always)
    static func isSpace(_ c: UInt32) -> Bool {
        switch c {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `str.isalnum()` for one character: a letter (L*) or a number (N*).
    static func isAlnum(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
        }
        guard let u = Unicode.Scalar(c), isKnown(u) else { return false }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// Python `re`'s `\w` on str patterns: alphanumeric or underscore.
    static func isWordCharacter(_ c: UInt32) -> Bool { c == 0x5F || isAlnum(c) }

    /// Python `re`'s `\d` on str patterns: a decimal digit (category Nd).
    static func isDecimalDigit(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x30 && c <= 0x39 }
        guard let u = Unicode.Scalar(c), isKnown(u) else { return false }
        return u.properties.generalCategory == .decimalNumber
    }

    /// `s.strip()`: removes leading and trailing whitespace.
    static func strip(_ s: [UInt32]) -> [UInt32] {
        var lo = 0, hi = s.count
        while lo < hi, isSpace(s[lo]) { lo += 1 }
        while hi > lo, isSpace(s[hi - 1]) { hi -= 1 }
        return lo == 0 && hi == s.count ? s : Array(s[lo..<hi])
    }

    /// `" ".join(s.split())`: whitespace runs become one space, none at either end.
    static func collapseWhitespace(_ s: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        var pendingSpace = false
        for c in s {
            if isSpace(c) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(c)
            }
        }
        return out
    }

    /// `s.lower()`: full lowercase mappings (SpecialCasing included) and the Final_Sigma rule
    /// for U+03A3, as CPython implements them.
    static func lower(_ s: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        for (i, c) in s.enumerated() {
            if c < 0x80 {
                out.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
            } else if c == 0x03A3 {
                out.append(isFinalSigma(s, at: i) ? 0x03C2 : 0x03C3)
            } else {
                appendLowercase(c, to: &out)
            }
        }
        return out
    }

    /// Appends the full lowercase mapping of `c` (itself when it has none).
    @inline(__always)
    static func appendLowercase(_ c: UInt32, to out: inout [UInt32]) {
        guard let u = Unicode.Scalar(c), u.properties.changesWhenLowercased, isKnown(u) else {
            out.append(c)
            return
        }
        for m in u.properties.lowercaseMapping.unicodeScalars { out.append(m.value) }
    }

    /// CPython's Final_Sigma test: a cased letter before (skipping case-ignorable characters)
    /// and no cased letter after (skipping case-ignorable characters).
    private static func isFinalSigma(_ s: [UInt32], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0, isCaseIgnorable(s[j]) { j -= 1 }
        guard j >= 0, isCased(s[j]) else { return false }
        j = i + 1
        while j < s.count, isCaseIgnorable(s[j]) { j += 1 }
        return j == s.count || !isCased(s[j])
    }

    private static func isCased(_ c: UInt32) -> Bool {
        guard let u = Unicode.Scalar(c), isKnown(u) else { return false }
        return u.properties.isCased
    }

    private static func isCaseIgnorable(_ c: UInt32) -> Bool {
        guard let u = Unicode.Scalar(c), isKnown(u) else { return false }
        return u.properties.isCaseIgnorable
    }

    /// `s.upper()` of one character: its full uppercase mapping.
    static func upper(_ c: UInt32) -> [UInt32] {
        if c < 0x80 { return [c >= 0x61 && c <= 0x7A ? c - 0x20 : c] }
        guard let u = Unicode.Scalar(c), u.properties.changesWhenUppercased, isKnown(u) else { return [c] }
        return u.properties.uppercaseMapping.unicodeScalars.map(\.value)
    }

    /// Code points of a Swift string.
    static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

    /// A Swift string from code points (every element must be a valid scalar).
    static func string(_ s: [UInt32]) -> String {
        var out = String.UnicodeScalarView()
        for c in s { out.append(Unicode.Scalar(c)!) }
        return String(out)
    }
}
