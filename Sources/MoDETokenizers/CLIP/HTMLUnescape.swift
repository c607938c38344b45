/// HTML character references, decoded the way open_clip's cleaning does: Python's
/// `html.unescape` (HTML5 rules, lenient) and ftfy's stricter `unescape_html`.
/// Text is handled as code points (`[UInt32]`).
enum HTMLUnescape {
    private static let amp: UInt32 = 0x26, hash: UInt32 = 0x23, semicolon: UInt32 = 0x3B

    /// HTML5 named references, keyed by name (with its `;` where the name has one).
    static let named: [String: [UInt32]] = {
        var table: [String: [UInt32]] = [:]
        table.reserveCapacity(2300)
        for line in TextTables.htmlEntities.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            table[String(parts[0])] = parts[1].split(separator: " ").map { UInt32($0, radix: 16)! }
        }
        return table
    }()

    /// The longest name in `named`.
    private static let longestName = named.keys.map(\.utf8.count).max() ?? 0

    // MARK: Python html.unescape

    /// Python's `html.unescape(s)`.
    static func pythonUnescape(_ s: [UInt32]) -> [UInt32] {
        guard s.contains(amp) else { return s }
        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if s[i] == amp, let (replacement, end) = pythonReference(s, at: i) {
                out += replacement
                i = end
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// Matches Python's reference pattern `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`
    /// at `s[at] == "&"`; returns the replacement and the index after the match.
    private static func pythonReference(_ s: [UInt32], at: Int) -> ([UInt32], Int)? {
        let n = s.count
        var j = at + 1
        guard j < n else { return nil }
        if s[j] == hash {
            j += 1
            var hex = false
            if j < n, s[j] == 0x78 || s[j] == 0x58, j + 1 < n, hexValue(s[j + 1]) != nil {
                hex = true
                j += 1
            } else if !(j < n && isDigit(s[j])) {
                return nil  // "&#" not followed by digits: no alternative matches
            }
            var value: UInt64 = 0
            while j < n, let d = hex ? hexValue(s[j]) : (isDigit(s[j]) ? s[j] - 0x30 : nil) {
                value = min(value * (hex ? 16 : 10) + UInt64(d), 0x11_0000)  // saturate past the range
                j += 1
            }
            if j < n, s[j] == semicolon { j += 1 }
            return (numericReference(UInt32(value)), j)
        }
        // Named: 1…32 characters outside "\t\n\f <&#;", then an optional ";".
        var k = j
        while k < n, k - j < 32, !isNameStop(s[k]) { k += 1 }
        guard k > j else { return nil }
        if k < n, s[k] == semicolon { k += 1 }
        let name = Array(s[j..<k])
        if let v = lookup(name) { return (v, k) }
        // Longest prefix (at least two characters) that is a reference, the rest kept as text.
        var x = name.count - 1
        while x >= 2 {
            if let v = lookup(Array(name[0..<x])) { return (v + name[x...], k) }
            x -= 1
        }
        return ([amp] + name, k)
    }

    private static func lookup(_ name: [UInt32]) -> [UInt32]? {
        guard name.count <= longestName, name.allSatisfy({ $0 < 0x80 }) else { return nil }
        return named[PythonUnicode.string(name)]
    }

    @inline(__always) private static func isNameStop(_ c: UInt32) -> Bool {
        c == 0x09 || c == 0x0A || c == 0x0C || c == 0x20 || c == 0x3C || c == amp || c == hash || c == semicolon
    }

    @inline(__always) private static func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }

    @inline(__always) private static func hexValue(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// Python's rules for `&#N;`: HTML5's windows-1252 remapping of 0x80…0x9F, U+FFFD for 0,
    /// surrogates and values past U+10FFFF, nothing for other invalid code points.
    private static func numericReference(_ v: UInt32) -> [UInt32] {
        switch v {
        case 0: return [0xFFFD]
        case 0x0D: return [0x0D]
        case 0x80...0x9F: return [CodePages.windows1252Sloppy[Int(v) - 0x80]]
        case 0xD800...0xDFFF, 0x11_0000...: return [0xFFFD]
        case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0xFDD0...0xFDEF: return []
        default:
            if v & 0xFFFE == 0xFFFE { return [] }  // U+xFFFE and U+xFFFF in every plane
            return [v]
        }
    }

    // MARK: ftfy unescape_html

    /// ftfy's table: references that end in ";", plus upper-case spellings of lower-case names
    /// (`&EACUTE;` → "É") where Python's `html.unescape` leaves that spelling alone.
    static let ftfyNamed: [String: [UInt32]] = {
        var table: [String: [UInt32]] = [:]
        for (name, value) in named where name.hasSuffix(";") {
            table[name] = value
            if name == name.lowercased() {
                let upperName = name.uppercased()
                let probe = [amp] + PythonUnicode.scalars(upperName)
                if pythonUnescape(probe) == probe {
                    table[upperName] = value.flatMap { PythonUnicode.upper($0) }
                }
            }
        }
        return table
    }()

    /// ftfy's `unescape_html`: each `&#?[0-9A-Za-z]{1,24};` that names a reference in `ftfyNamed`,
    /// or is a numeric reference Python decodes completely, is replaced; anything else is kept.
    static func ftfyUnescape(_ s: [UInt32]) -> [UInt32] {
        guard s.contains(amp) else { return s }
        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        var i = 0
        let n = s.count
        while i < n {
            guard s[i] == amp else {
                out.append(s[i])
                i += 1
                continue
            }
            var j = i + 1
            let numeric = j < n && s[j] == hash
            if numeric { j += 1 }
            var k = j
            while k < n, isASCIIAlnum(s[k]) { k += 1 }
            guard k > j, k - j <= 24, k < n, s[k] == semicolon else {
                out.append(amp)
                i += 1
                continue
            }
            let match = Array(s[i...k])  // "&…;"
            if !numeric, let v = ftfyNamed[PythonUnicode.string(Array(s[(i + 1)...k]))] {
                out += v
            } else if numeric {
                let decoded = pythonUnescape(match)
                out += decoded.contains(semicolon) ? match : decoded
            } else {
                out += match
            }
            i = k + 1
        }
        return out
    }

    @inline(__always) private static func isASCIIAlnum(_ c: UInt32) -> Bool {
        isDigit(c) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }
}
