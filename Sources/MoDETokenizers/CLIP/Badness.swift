/// ftfy 6.3's mojibake heuristic (`ftfy.badness.is_bad`): true when the text contains one of the
/// character sequences that are far likelier to be mojibake than intended text, such as an
/// accented letter followed by a currency sign. The character categories come from ftfy's
/// tables (`TextTables.mojibake*`); the sequences are listed in `isBad(_:)`.
enum Badness {
    /// One bit per ftfy character category.
    struct Category: OptionSet, Sendable {
        let rawValue: UInt16
        static let common = Category(rawValue: 1 << 0)
        static let c1 = Category(rawValue: 1 << 1)
        static let bad = Category(rawValue: 1 << 2)
        static let law = Category(rawValue: 1 << 3)
        static let currency = Category(rawValue: 1 << 4)
        static let startPunctuation = Category(rawValue: 1 << 5)
        static let endPunctuation = Category(rawValue: 1 << 6)
        static let numeric = Category(rawValue: 1 << 7)
        static let kaomoji = Category(rawValue: 1 << 8)
        static let upperAccented = Category(rawValue: 1 << 9)
        static let lowerAccented = Category(rawValue: 1 << 10)
        static let upperCommon = Category(rawValue: 1 << 11)
        static let lowerCommon = Category(rawValue: 1 << 12)
        static let box = Category(rawValue: 1 << 13)
    }

    private static let categoryOf: [UInt32: Category] = {
        var m: [UInt32: Category] = [:]
        let lists: [([UInt32], Category)] = [
            (TextTables.mojibakeCommon, .common), (TextTables.mojibakeC1, .c1), (TextTables.mojibakeBad, .bad),
            (TextTables.mojibakeLaw, .law), (TextTables.mojibakeCurrency, .currency),
            (TextTables.mojibakeStartPunctuation, .startPunctuation),
            (TextTables.mojibakeEndPunctuation, .endPunctuation), (TextTables.mojibakeNumeric, .numeric),
            (TextTables.mojibakeKaomoji, .kaomoji), (TextTables.mojibakeUpperAccented, .upperAccented),
            (TextTables.mojibakeLowerAccented, .lowerAccented), (TextTables.mojibakeUpperCommon, .upperCommon),
            (TextTables.mojibakeLowerCommon, .lowerCommon), (TextTables.mojibakeBox, .box),
        ]
        for (list, cat) in lists {
            for c in list { m[c, default: []].insert(cat) }
        }
        return m
    }()

    @inline(__always) static func category(_ c: UInt32) -> Category { c < 0x80 ? [] : categoryOf[c] ?? [] }

    // Unions used by several sequences.
    private static let accented: Category = [.lowerAccented, .upperAccented]
    private static let punctuation: Category = [.startPunctuation, .endPunctuation]

    /// Literal character sets that appear in the sequences, by name.
    private static func set(_ s: String) -> Set<UInt32> { Set(s.unicodeScalars.map(\.value)) }
    private static let afterAOrD = set("€œŠš¢£Ÿž\u{A0}\u{AD}®©°·»–—´")  // after Â Ã Î Ð
    private static let arabicFollow = set("ŸŠ®°µ»")
    private static let cyrillicFollow = set("°µ")

    /// `ftfy.badness.is_bad(text)`.
    static func isBad(_ s: [UInt32]) -> Bool {
        let n = s.count
        var cats = [Category](repeating: [], count: n)
        var any = false
        for i in 0..<n {
            cats[i] = category(s[i])
            if !cats[i].isEmpty || s[i] >= 0x80 { any = true }
        }
        if !any { return false }
        for i in 0..<n where matchesAt(s, cats, i) { return true }
        return false
    }

    /// Whether one of the sequences matches starting at `i`.
    private static func matchesAt(_ s: [UInt32], _ cats: [Category], _ i: Int) -> Bool {
        let n = s.count
        // Category tests at offset k from i (false past the end).
        func cat(_ k: Int, _ c: Category) -> Bool { i + k < n && !cats[i + k].isDisjoint(with: c) }
        func ch(_ k: Int) -> UInt32? { i + k < n ? s[i + k] : nil }
        func isChar(_ k: Int, _ chars: String) -> Bool {
            guard let c = ch(k), let u = Unicode.Scalar(c) else { return false }
            return chars.unicodeScalars.contains(u)
        }
        func isIn(_ k: Int, _ set: Set<UInt32>) -> Bool { ch(k).map(set.contains) ?? false }
        func asciiLetter(_ k: Int) -> Bool { ch(k).map { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A } ?? false }
        func asciiLower(_ k: Int) -> Bool { ch(k).map { $0 >= 0x61 && $0 <= 0x7A } ?? false }
        func space(_ k: Int) -> Bool { ch(k).map(PythonUnicode.isSpace) ?? false }

        let c0 = cats[i]
        let first = s[i]

        // [c1]
        if c0.contains(.c1) { return true }
        // [bad accented box punctuation currency numeric law] [bad]
        if cat(0, [.bad, .lowerAccented, .upperAccented, .box, .startPunctuation, .endPunctuation, .currency, .numeric, .law]),
           cat(1, .bad) { return true }
        // [a-zA-Z] [lower_common upper_common] [bad]
        if asciiLetter(0), cat(1, [.lowerCommon, .upperCommon]), cat(2, .bad) { return true }
        // [bad] [accented box punctuation currency numeric law]
        if cat(0, .bad),
           cat(1, [.lowerAccented, .upperAccented, .box, .startPunctuation, .endPunctuation, .currency, .numeric, .law]) {
            return true
        }
        // [lower_accented lower_common box end_punctuation currency numeric] [upper_accented]
        if cat(0, [.lowerAccented, .lowerCommon, .box, .endPunctuation, .currency, .numeric]), cat(1, .upperAccented) {
            return true
        }
        // [box end_punctuation currency numeric] [lower_accented]
        if cat(0, [.box, .endPunctuation, .currency, .numeric]), cat(1, .lowerAccented) { return true }
        // [lower_accented box end_punctuation] [currency]
        if cat(0, [.lowerAccented, .box, .endPunctuation]), cat(1, .currency) { return true }
        // \s [upper_accented] [currency]
        if space(0), cat(1, .upperAccented), cat(2, .currency) { return true }
        // [upper_accented box] [numeric law]
        if cat(0, [.upperAccented, .box]), cat(1, [.numeric, .law]) { return true }
        // [accented box currency end_punctuation] [start_punctuation] [numeric]
        if cat(0, [.lowerAccented, .upperAccented, .box, .currency, .endPunctuation]), cat(1, .startPunctuation),
           cat(2, .numeric) { return true }
        // [accented currency numeric box law] [end_punctuation] [start_punctuation]
        if cat(0, [.lowerAccented, .upperAccented, .currency, .numeric, .box, .law]), cat(1, .endPunctuation),
           cat(2, .startPunctuation) { return true }
        // [currency numeric box] [start_punctuation]
        if cat(0, [.currency, .numeric, .box]), cat(1, .startPunctuation) { return true }
        // [a-z] [upper_accented] [start_punctuation currency]
        if asciiLower(0), cat(1, .upperAccented), cat(2, [.startPunctuation, .currency]) { return true }
        // [box] [kaomoji]
        if cat(0, .box), cat(1, .kaomoji) { return true }
        // [accented currency numeric punctuation law] [box]
        if cat(0, [.lowerAccented, .upperAccented, .currency, .numeric, .startPunctuation, .endPunctuation, .law]),
           cat(1, .box) { return true }
        // [box] [end_punctuation]
        if cat(0, .box), cat(1, .endPunctuation) { return true }
        // [accented] [punctuation] \w
        if cat(0, accented), cat(1, punctuation), ch(2).map(PythonUnicode.isWordCharacter) ?? false { return true }
        // [Œœ] [^A-Za-z]
        if first == 0x152 || first == 0x153, ch(1) != nil, !asciiLetter(1) { return true }
        // [upper_accented] °
        if cat(0, .upperAccented), ch(1) == 0xB0 { return true }
        // [ÂÃÎÐ] [€œŠš¢£Ÿž nbsp shy ®©°·» punctuation –—´]
        if isChar(0, "ÂÃÎÐ"), isIn(1, afterAOrD) || cat(1, punctuation) { return true }
        // × [²³]
        if first == 0xD7, isChar(1, "²³") { return true }
        // [ØÙ] [common currency bad numeric start_punctuation ŸŠ®°µ»], twice
        func arabicPair(_ k: Int) -> Bool {
            isChar(k, "ØÙ") && (cat(k + 1, [.common, .currency, .bad, .numeric, .startPunctuation]) || isIn(k + 1, arabicFollow))
        }
        if arabicPair(0), arabicPair(2) { return true }
        // à [²µ¹¼½¾]
        if first == 0xE0, isChar(1, "²µ¹¼½¾") { return true }
        // MacRoman: √[±∂†≠®™´≤≥¥µø], ≈[°¢], ‚Ä[ìîïòôúùû†°¢π], ‚[âó][àä°ê]
        if first == 0x221A, isChar(1, "±∂†≠®™´≤≥¥µø") { return true }
        if first == 0x2248, isChar(1, "°¢") { return true }
        if first == 0x201A {
            if ch(1) == 0xC4, isChar(2, "ìîïòôúùû†°¢π") { return true }
            if isChar(1, "âó"), isChar(2, "àä°ê") { return true }
        }
        // windows-1251: вЂ
        if first == 0x432, ch(1) == 0x402 { return true }
        // [ВГРС] [c1 bad punctuation currency °µ] [ВГРС]
        if isChar(0, "ВГРС"), cat(1, [.c1, .bad, .startPunctuation, .endPunctuation, .currency]) || isIn(1, cyrillicFollow),
           isChar(2, "ВГРС") { return true }
        // ГўВЂВ . [A-Za-z ]   ("." is anything but "\n")
        if first == 0x413, ch(1) == 0x45E, ch(2) == 0x412, ch(3) == 0x402, ch(4) == 0x412,
           let any = ch(5), any != 0x0A, asciiLetter(6) || ch(6) == 0x20 { return true }
        // Ã [nbsp ¡]
        if first == 0xC3, ch(1) == 0xA0 || ch(1) == 0xA1 { return true }
        // [a-z] \s? [ÃÂ] [ ]
        if asciiLower(0) {
            if isChar(1, "ÃÂ"), ch(2) == 0x20 { return true }
            if space(1), isChar(2, "ÃÂ"), ch(3) == 0x20 { return true }
        }
        // ^ [ÃÂ] [ ]
        if i == 0, isChar(0, "ÃÂ"), ch(1) == 0x20 { return true }
        // [a-z.,?! end_punctuation] Â [ punctuation]
        if asciiLower(0) || isChar(0, ".,?!") || cat(0, .endPunctuation), ch(1) == 0xC2,
           ch(2) == 0x20 || cat(2, punctuation) { return true }
        // windows-1253: β€[™ nbsp Ά shy ®°]
        if first == 0x3B2, ch(1) == 0x20AC, isChar(2, "™\u{A0}Ά\u{AD}®°") { return true }
        // [ΒΓΞΟ] [c1 bad punctuation currency °] [ΒΓΞΟ]
        if isChar(0, "ΒΓΞΟ"), cat(1, [.c1, .bad, .startPunctuation, .endPunctuation, .currency]) || ch(1) == 0xB0,
           isChar(2, "ΒΓΞΟ") { return true }
        // windows-1257: ā€
        if first == 0x101, ch(1) == 0x20AC { return true }
        return false
    }
}
