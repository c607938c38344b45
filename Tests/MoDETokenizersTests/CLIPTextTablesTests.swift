import Foundation
import Testing
@testable import MoDETokenizers

/// The character classes and text fixers behind the tokenizer, against the references in
/// clip_text_tables.json (Python's `regex`, `str.lower`, `html.unescape`, ftfy).
@Suite struct CLIPTextTablesTests {
    private var tables: Fixtures.Tables { get throws { try Fixtures.tables.get() } }

    /// The code points checked: all of planes 0–3 and 14 (every assigned character), and every
    /// 251st one of the unassigned and private-use planes, to keep the debug-build test fast.
    static let checkedCodePoints: [UInt32] = {
        var out = Array(UInt32(0)..<0x4_0000) + Array(UInt32(0xE_0000)..<0xF_0000)
        out += stride(from: UInt32(0x4_0000), to: 0xE_0000, by: 251)
        out += stride(from: UInt32(0xF_0000), to: 0x11_0000, by: 251)
        return out.filter { !(0xD800...0xDFFF).contains($0) }
    }()

    /// Membership of every code point in `ranges` ([[first, last], ...]).
    private func membership(_ ranges: [[Int]]) -> [Bool] {
        var m = [Bool](repeating: false, count: 0x11_0000)
        for r in ranges { for c in r[0]...r[1] { m[c] = true } }
        return m
    }

    private func checkClass(_ key: String, _ ranges: [[Int]], _ predicate: (UInt32) -> Bool,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = membership(ranges)
        var wrong: [String] = []
        for c in Self.checkedCodePoints where predicate(c) != expected[Int(c)] {
            wrong.append(String(format: "U+%04X", c))
        }
        #expect(wrong.isEmpty, "\(key): \(wrong.count) code points differ from Python's regex: \(wrong.prefix(20))",
                sourceLocation: sourceLocation)
    }

    @Test func letterClassMatchesRegexModule() throws { try checkClass("letter_ranges", try tables.letter_ranges, CLIPPreTokenizer.isLetter) }
    @Test func numberClassMatchesRegexModule() throws { try checkClass("number_ranges", try tables.number_ranges, CLIPPreTokenizer.isNumber) }
    @Test func otherClassMatchesRegexModule() throws { try checkClass("other_ranges", try tables.other_ranges, CLIPPreTokenizer.isOther) }
    @Test func spaceClassMatchesRegexModule() throws { try checkClass("space_ranges", try tables.space_ranges, CLIPPreTokenizer.isSpace) }

    @Test func lowerMatchesPython() throws {
        var expected: [UInt32: [UInt32]] = [:]
        for (k, v) in try tables.python_lower { expected[UInt32(k, radix: 16)!] = v }
        var wrong: [String] = []
        for c in Self.checkedCodePoints {
            let got = PythonUnicode.lower([c])
            if got != (expected[c] ?? [c]) { wrong.append(String(format: "U+%04X → %@", c, Fixtures.hex(got))) }
        }
        #expect(wrong.isEmpty, "\(wrong.count) code points lower-case differently from Python: \(wrong.prefix(20))")
    }

    @Test func nfcMatchesPythonForSingleCodePoints() throws {
        // Singleton decompositions, composition exclusions, and characters newer than Unicode 14.0
        // (which CPython 3.11 leaves alone).
        var expected: [UInt32: [UInt32]] = [:]
        for (k, v) in try tables.python_nfc { expected[UInt32(k, radix: 16)!] = v }
        var wrong: [String] = []
        for c in Self.checkedCodePoints where c >= 0x300 {
            let got = FTFY.nfc([c])
            if got != (expected[c] ?? [c]) { wrong.append(String(format: "U+%04X → %@", c, Fixtures.hex(got))) }
        }
        #expect(wrong.isEmpty, "\(wrong.count) code points normalize differently from Python: \(wrong.prefix(20))")
        // Composition, and no composition across a character CPython 3.11 does not know.
        #expect(FTFY.nfc([0x65, 0x301]) == [0xE9])
        #expect(FTFY.nfc([0x1100, 0x1161, 0x11A8]) == [0xAC01])
        #expect(FTFY.nfc([0x105D2, 0x307]) == [0x105D2, 0x307])  // U+105C9 composes only from Unicode 16
    }

    @Test func pythonAlnumAndDecimalMatch() throws {
        try checkClass("python_alnum_ranges", try tables.python_alnum_ranges, PythonUnicode.isAlnum)
        try checkClass("python_decimal_ranges", try tables.python_decimal_ranges, PythonUnicode.isDecimalDigit)
    }

    @Test func finalSigma() {
        // CPython's Final_Sigma rule: σ→ς after a cased letter (skipping case-ignorables) when no cased letter follows.
        let cases: [(String, String)] = [("ΟΔΟΣ", "οδος"), ("Σ", "σ"), ("ΑΣ.", "ας."), ("ΣΑ", "σα"), ("Α'Σ", "α'ς"),
                                         ("ΑΣ'Α", "ασ'α"), ("ΑΣ'", "ας'"), ("1Σ", "1σ")]
        for (input, expected) in cases {
            #expect(PythonUnicode.lower(PythonUnicode.scalars(input)) == PythonUnicode.scalars(expected), "\(input)")
        }
    }

    @Test func mojibakeHeuristicMatchesFTFY() throws {
        let cases = try tables.is_bad
        var wrong: [String] = []
        for (s, expected) in zip(cases.strings, cases.expected) where Badness.isBad(PythonUnicode.scalars(s)) != expected {
            wrong.append("\(s.debugDescription) [\(Fixtures.hex(s))] expected \(expected)")
        }
        #expect(cases.strings.count > 1000 && cases.expected.contains(true) && cases.expected.contains(false))
        #expect(wrong.isEmpty, "\(wrong.count) of \(cases.strings.count) differ from ftfy.badness.is_bad: \(wrong.prefix(20))")
    }

    @Test func mojibakeRepairMatchesFTFY() throws {
        let cases = try tables.fix_encoding
        var wrong: [String] = []
        for c in cases {
            let got = Mojibake.fixEncoding(PythonUnicode.scalars(c[0]))
            if got != PythonUnicode.scalars(c[1]) {
                wrong.append("\(c[0].debugDescription) → \(PythonUnicode.string(got).debugDescription), ftfy: \(c[1].debugDescription)")
            }
        }
        #expect(cases.count > 500)
        #expect(wrong.isEmpty, "\(wrong.count) of \(cases.count) differ from ftfy.fix_encoding: \(wrong.prefix(20))")
    }

    @Test func htmlUnescapeMatchesPythonAndFTFY() throws {
        let cases = try tables.html_unescape
        var wrong: [String] = []
        for c in cases {
            let s = PythonUnicode.scalars(c[0])
            let python = HTMLUnescape.pythonUnescape(s), ftfy = HTMLUnescape.ftfyUnescape(s)
            if python != PythonUnicode.scalars(c[1]) { wrong.append("html.unescape(\(c[0].debugDescription)) = \(PythonUnicode.string(python).debugDescription), Python: \(c[1].debugDescription)") }
            if ftfy != PythonUnicode.scalars(c[2]) { wrong.append("unescape_html(\(c[0].debugDescription)) = \(PythonUnicode.string(ftfy).debugDescription), ftfy: \(c[2].debugDescription)") }
        }
        #expect(wrong.isEmpty, "\(wrong.count) differ: \(wrong.prefix(20))")
    }

    @Test func ftfyUpperCaseEntitiesMatch() throws {
        let expected = try tables.ftfy_upper_entities
        let ours = HTMLUnescape.ftfyNamed.filter { HTMLUnescape.named[$0.key] == nil }
        #expect(Set(ours.keys) == Set(expected.keys), "extra: \(Set(ours.keys).subtracting(expected.keys).sorted().prefix(10)), missing: \(Set(expected.keys).subtracting(ours.keys).sorted().prefix(10))")
        for (name, value) in expected {
            #expect(ours[name] == PythonUnicode.scalars(value), "&\(name)")
        }
    }

    @Test func htmlEntityTableIsComplete() {
        // Python's html.entities.html5 has 2231 names, 106 of them legacy ones without ";".
        #expect(HTMLUnescape.named.count == 2231)
        #expect(HTMLUnescape.named.keys.filter { !$0.hasSuffix(";") }.count == 106)
        #expect(HTMLUnescape.named["amp;"] == [0x26])
        #expect(HTMLUnescape.named["NotNestedGreaterGreater;"] == [0x2AA2, 0x338])
    }
}
