/// ftfy 6.3's mojibake repair (`ftfy.fix_encoding`): text that was UTF-8 but got decoded with a
/// single-byte code page ("cafÃ©") is encoded back with that code page and decoded as UTF-8,
/// when ftfy's heuristic finds it likely to be mojibake. Text is handled as code points.
enum Mojibake {
    /// `ftfy.fix_encoding(text)`: repeats one repair step until the text stops changing.
    static func fixEncoding(_ text: [UInt32]) -> [UInt32] {
        var text = text
        while true {
            let fixed = fixOneStep(text)
            if fixed == text { return text }
            text = fixed
        }
    }

    /// One step of ftfy's `_fix_encoding_one_step_and_explain`.
    static func fixOneStep(_ text: [UInt32]) -> [UInt32] {
        if text.isEmpty || text.allSatisfy({ $0 < 0x80 }) || !Badness.isBad(text) { return text }
        var latin1Possible = false
        for page in CodePages.pages {
            guard var bytes = page.encode(text) else { continue }
            if page.name == "latin-1" { latin1Possible = true }
            if page.name != "macroman", Patterns.findFirst(Patterns.alteredUTF8, in: bytes) != nil {
                bytes = restoreByteA0(bytes)
            }
            if page.sloppy { bytes = replaceLossySequences(bytes) }
            let decoded = bytes.contains(0xED) || bytes.contains(0xC0) ? UTF8Variants.decode(bytes) : strictUTF8(bytes)
            if let decoded { return decoded }
        }
        if UTF8Detector.firstMatch(in: text, from: 0) != nil {
            let fixed = decodeInconsistentUTF8(text)
            if fixed != text { return fixed }
        }
        // Latin-1 text that is not windows-1252 text holds C1 controls: read them as windows-1252.
        if latin1Possible, let fixed = CodePages.decodeStrictWindows1252(text), fixed != text {
            return fixed
        }
        if text.contains(where: { $0 >= 0x80 && $0 <= 0x9F }) { return FTFY.fixC1Controls(text) }
        return text
    }

    /// `decode_inconsistent_utf8`: repairs each run that looks like UTF-8 mojibake on its own,
    /// when the run is shorter than the text and itself looks bad.
    static func decodeInconsistentUTF8(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var pos = 0
        while let m = UTF8Detector.firstMatch(in: text, from: pos) {
            out += text[pos..<m.lowerBound]
            let piece = Array(text[m])
            out += piece.count < text.count && Badness.isBad(piece) ? fixEncoding(piece) : piece
            pos = m.upperBound
        }
        out += text[pos...]
        return out
    }

    /// `restore_byte_a0`: puts back byte A0 where a space replaced it inside a UTF-8 sequence;
    /// first "C3 20" as a word of its own becomes "C3 A0 20" (à before the space).
    static func restoreByteA0(_ bytes: [UInt8]) -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(bytes.count + 8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0xC3, i + 1 < bytes.count, bytes[i + 1] == 0x20, !aGraveExcluded(bytes, i + 2) {
                b += [0xC3, 0xA0, 0x20]
                i += 2
            } else {
                b.append(bytes[i])
                i += 1
            }
        }
        return Patterns.substitute(Patterns.alteredUTF8, in: b) { m in m.map { $0 == 0x20 ? 0xA0 : $0 } }
    }

    /// The negative lookahead `(?! |quele|quela|quilo|s )` after "C3 20".
    private static func aGraveExcluded(_ b: [UInt8], _ p: Int) -> Bool {
        func has(_ s: String) -> Bool {
            let u = Array(s.utf8)
            return p + u.count <= b.count && Array(b[p..<(p + u.count)]) == u
        }
        return has(" ") || has("quele") || has("quela") || has("quilo") || has("s ")
    }

    /// `replace_lossy_sequences`: UTF-8 sequences with bytes lost to "?" or to 1A (which the
    /// sloppy code pages write for U+FFFD) become the UTF-8 of U+FFFD.
    static func replaceLossySequences(_ bytes: [UInt8]) -> [UInt8] {
        Patterns.substitute(Patterns.lossyUTF8, in: bytes) { _ in [0xEF, 0xBF, 0xBD] }
    }

    /// Python's strict UTF-8 decoder.
    static func strictUTF8(_ bytes: [UInt8]) -> [UInt32]? {
        guard let s = String(validating: bytes, as: UTF8.self) else { return nil }
        return PythonUnicode.scalars(s)
    }
}

// MARK: - Code pages

/// The single-byte encodings ftfy tries, in its order, with Python's tables (`TextTables`).
enum CodePages {
    struct Page {
        let name: String
        /// Byte → code point for all 256 bytes.
        let decode: [UInt32]
        let encodeTable: [UInt32: UInt8]
        /// ftfy's sloppy variant: unassigned bytes decode to U+0080…U+00FF, byte 1A stands for U+FFFD.
        let sloppy: Bool

        init(name: String, high: [UInt32]) {
            self.name = name
            sloppy = name.hasPrefix("sloppy-")
            var d = (0..<128).map { UInt32($0) } + high
            if sloppy { d[0x1A] = 0xFFFD }
            decode = d
            var e: [UInt32: UInt8] = [:]
            for (b, c) in d.enumerated() where e[c] == nil { e[c] = UInt8(b) }
            encodeTable = e
        }

        /// `text.encode(page)`, or nil when some character has no byte (ftfy's `possible_encoding`).
        func encode(_ text: [UInt32]) -> [UInt8]? {
            var out: [UInt8] = []
            out.reserveCapacity(text.count)
            for c in text {
                if c < 0x80, c != 0x1A || !sloppy {
                    out.append(UInt8(c))
                } else if let b = encodeTable[c] {
                    out.append(b)
                } else {
                    return nil
                }
            }
            return out
        }
    }

    static let pages: [Page] = TextTables.codePages.map { Page(name: $0.name, high: $0.high) }

    /// Bytes 0x80…0x9F in sloppy windows-1252 (what HTML5 and ftfy make of C1 controls).
    static let windows1252Sloppy: [UInt32] = Array(pages.first { $0.name == "sloppy-windows-1252" }!.decode[0x80..<0xA0])

    /// `text.encode("latin-1").decode("windows-1252")` (strict: nil when a byte is undefined
    /// there or a character is not Latin-1).
    static func decodeStrictWindows1252(_ text: [UInt32]) -> [UInt32]? {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        for c in text {
            guard c <= 0xFF else { return nil }
            if c >= 0x80, c <= 0x9F {
                if TextTables.windows1252Undefined.contains(UInt8(c)) { return nil }
                out.append(windows1252Sloppy[Int(c) - 0x80])
            } else {
                out.append(c)
            }
        }
        return out
    }
}

// MARK: - UTF-8 variants

/// ftfy's "utf-8-variants" decoder: standard UTF-8 plus CESU-8 surrogate pairs
/// (ED A0-AF 80-BF ED B0-BF 80-BF) and Java's C0 80 for U+0000. As in ftfy, a `$` in its byte
/// patterns also matches before a final "\n", which these rules inherit.
enum UTF8Variants {
    static func decode(_ b: [UInt8]) -> [UInt32]? {
        let n = b.count
        // Python `$`: end of input, or just before a final "\n".
        func atEnd(_ p: Int) -> Bool { p == n || (p == n - 1 && b[n - 1] == 0x0A) }
        func isSpecial(_ p: Int) -> Bool {
            if b[p] == 0xC0 { return atEnd(p + 1) || b[p + 1] == 0x80 }
            guard b[p] == 0xED else { return false }
            // Each element is a byte class or an empty `$` match (then the next one starts there).
            let q: Int
            if p + 1 < n, (0xA0...0xBF).contains(b[p + 1]) {
                q = p + 2
            } else if atEnd(p + 1) {
                q = p + 1
            } else {
                return false
            }
            return (q < n && (0x80...0xBF).contains(b[q])) || atEnd(q)
        }
        var out: [UInt32] = []
        out.reserveCapacity(n)
        var pos = 0
        while pos < n {
            var p = pos
            while p < n, !isSpecial(p) { p += 1 }
            if p > pos {
                guard let s = Mojibake.strictUTF8(Array(b[pos..<p])) else { return nil }
                out += s
                pos = p
                continue
            }
            if b[pos] == 0xC0 {
                guard n - pos > 1 else { return nil }
                out.append(0)
                pos += 2
            } else {
                guard n - pos >= 6, let c = cesu8(b, pos, atEnd) else { return nil }
                out.append(c)
                pos += 6
            }
        }
        return out
    }

    /// The code point of a CESU-8 surrogate pair at `p`, matching
    /// `ED ([A0-AF]|$) ([80-BF]|$) (ED|$) ([B0-BF]|$) ([80-BF]|$)`.
    private static func cesu8(_ b: [UInt8], _ p: Int, _ atEnd: (Int) -> Bool) -> UInt32? {
        let ranges: [ClosedRange<UInt8>] = [0xA0...0xAF, 0x80...0xBF, 0xED...0xED, 0xB0...0xBF, 0x80...0xBF]
        var q = p + 1
        for r in ranges {
            if q < b.count, r.contains(b[q]) {
                q += 1
            } else if !atEnd(q) {
                return nil
            }
        }
        let hi = UInt32(b[p + 1] & 0x0F) << 16 | UInt32(b[p + 2] & 0x3F) << 10
        return hi + (UInt32(b[p + 4] & 0x0F) << 6 | UInt32(b[p + 5] & 0x3F)) + 0x10000
    }
}

// MARK: - Byte patterns

/// ftfy's byte-level patterns, each an alternation of fixed-length sequences of byte classes,
/// tried in order at each position (leftmost match first, as Python's `re` does).
enum Patterns {
    typealias Sequence = [ClosedRangeSet]

    /// A byte class: a union of ranges.
    struct ClosedRangeSet {
        let ranges: [ClosedRange<UInt8>]
        func contains(_ b: UInt8) -> Bool { ranges.contains { $0.contains(b) } }
    }

    private static func c(_ r: ClosedRange<UInt8>...) -> ClosedRangeSet { ClosedRangeSet(ranges: r) }

    /// `ALTERED_UTF8_RE`: UTF-8 sequences in which one byte A0 became a space.
    static let alteredUTF8: [Sequence] = {
        let sp = c(0x20...0x20), cont = c(0x80...0xBF)
        let notNBSPOrNEL = c(0x80...0x84, 0x86...0x9F, 0xA1...0xBF)
        return [
            [c(0xC2...0xC3, 0xC5...0xC5, 0xCE...0xCE, 0xD0...0xD0, 0xD9...0xD9), sp],
            [c(0xE2...0xE3), sp, notNBSPOrNEL],
            [c(0xE0...0xE3), notNBSPOrNEL, sp],
            [c(0xF0...0xF0), sp, cont, cont],
            [c(0xF0...0xF0), cont, sp, cont],
            [c(0xF0...0xF0), cont, cont, sp],
        ]
    }()

    /// `LOSSY_UTF8_RE`: UTF-8 sequences with bytes replaced by 1A (lost) or "?".
    static let lossyUTF8: [Sequence] = {
        let sub = c(0x1A...0x1A), q = c(0x3F...0x3F), subQ = c(0x1A...0x1A, 0x3F...0x3F)
        let subCont = c(0x1A...0x1A, 0x80...0xBF), subQCont = c(0x1A...0x1A, 0x3F...0x3F, 0x80...0xBF)
        let ed = c(0xED...0xED), e = c(0xE0...0xEF), f = c(0xF0...0xF4)
        return [
            [c(0xC2...0xDF), sub],
            [c(0xC2...0xC3), q],
            [ed, c(0xA0...0xAF), subQ, ed, c(0xB0...0xBF), subQCont],
            [ed, c(0xA0...0xAF), subQCont, ed, c(0xB0...0xBF), subQ],
            [e, subQ, subCont],
            [e, subCont, subQ],
            [f, subQ, subCont, subCont],
            [f, subCont, subQ, subCont],
            [f, subCont, subCont, subQ],
            [sub],
        ]
    }()

    /// Length of the first alternative that matches at `p`, if any.
    static func match(_ alternatives: [Sequence], _ b: [UInt8], at p: Int) -> Int? {
        for seq in alternatives where p + seq.count <= b.count {
            var ok = true
            for (k, cls) in seq.enumerated() where !cls.contains(b[p + k]) {
                ok = false
                break
            }
            if ok { return seq.count }
        }
        return nil
    }

    /// Start of the leftmost match.
    static func findFirst(_ alternatives: [Sequence], in b: [UInt8]) -> Int? {
        (0..<b.count).first { match(alternatives, b, at: $0) != nil }
    }

    /// `re.sub`: replaces each non-overlapping match, scanning left to right.
    static func substitute(_ alternatives: [Sequence], in b: [UInt8], _ replace: ([UInt8]) -> [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var p = 0
        while p < b.count {
            if let len = match(alternatives, b, at: p) {
                out += replace(Array(b[p..<(p + len)]))
                p += len
            } else {
                out.append(b[p])
                p += 1
            }
        }
        return out
    }
}

// MARK: - UTF-8 clue detector

/// ftfy's `UTF8_DETECTOR_RE`: runs of characters that look like UTF-8 lead bytes followed by
/// continuation bytes in a Latin-1-like code page, not preceded by a strict continuation.
enum UTF8Detector {
    private static let firstOf2 = Set(TextTables.utf8FirstOf2)
    private static let firstOf3 = Set(TextTables.utf8FirstOf3)
    private static let firstOf4 = Set(TextTables.utf8FirstOf4)
    private static let continuation = Set(TextTables.utf8Continuation)
    private static let continuationStrict = Set(TextTables.utf8ContinuationStrict)

    /// The leftmost match at or after `from`.
    static func firstMatch(in s: [UInt32], from: Int) -> Range<Int>? {
        var p = from
        while p < s.count {
            if p == 0 || !continuationStrict.contains(s[p - 1]) {
                var q = p
                while let step = unit(s, q) { q += step }
                if q > p { return p..<q }
            }
            p += 1
        }
        return nil
    }

    /// Length of the first alternative of `(f2 c | f3 c c | f4 c c c)` matching at `q`.
    private static func unit(_ s: [UInt32], _ q: Int) -> Int? {
        guard q < s.count else { return nil }
        func conts(_ k: Int) -> Bool {
            guard q + k < s.count else { return false }
            return (1...k).allSatisfy { continuation.contains(s[q + $0]) }
        }
        let c = s[q]
        if firstOf2.contains(c), conts(1) { return 2 }
        if firstOf3.contains(c), conts(2) { return 3 }
        if firstOf4.contains(c), conts(3) { return 4 }
        return nil
    }
}
