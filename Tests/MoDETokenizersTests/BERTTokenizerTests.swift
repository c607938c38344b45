import Foundation
import Testing
import TestSupport
import MoDEFormats
@testable import MoDETokenizers

/// Ranges stored as an I32 tensor (n, 2) of inclusive bounds.
private func rangeSet(_ f: SafeTensorsFile, _ name: String) throws -> [ClosedRange<UInt32>] {
    let v = try f.int32s(name).map { UInt32($0) }
    return stride(from: 0, to: v.count, by: 2).map { v[$0]...v[$0 + 1] }
}

private func inRanges(_ r: [ClosedRange<UInt32>], _ c: UInt32) -> Bool {
    var lo = 0, hi = r.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if c > r[mid].upperBound { lo = mid + 1 } else { hi = mid }
    }
    return lo < r.count && r[lo].contains(c)
}

/// (cp → output scalars) mappings stored as cps, offsets, scalars.
private func mapping(_ f: SafeTensorsFile, _ prefix: String) throws -> [UInt32: [UInt32]] {
    let cps = try f.int32s(prefix + "_cps"), offsets = try f.int32s(prefix + "_offsets"), scalars = try f.int32s(prefix + "_scalars")
    var m: [UInt32: [UInt32]] = [:]
    for (i, cp) in cps.enumerated() {
        m[UInt32(cp)] = scalars[Int(offsets[i])..<Int(offsets[i + 1])].map { UInt32($0) }
    }
    return m
}

private func describe(_ ids: [Int32], _ tok: WordPieceTokenizer) -> String {
    ids.map { "\($0):\(tok.token($0) ?? "?")" }.joined(separator: " ")
}

@Suite struct BERTTokenizerTests {
    /// Every code point through the normaliser's classes and mappings, against what Hugging Face
    /// tokenizers does with it alone (Tests/ModelsTests/Fixtures/bert_unicode.safetensors).
    @Test func everyCodePointMatchesReference() throws {
        let f = try fixture("bert_unicode")
        let removed = try rangeSet(f, "removed"), whitespace = try rangeSet(f, "whitespace"), chinese = try rangeSet(f, "chinese")
        let punctuation = try rangeSet(f, "punctuation"), split = try rangeSet(f, "split_whitespace")
        let marks = try rangeSet(f, "nonspacing_mark")
        let uncasedMap = try mapping(f, "uncased"), lowerMap = try mapping(f, "lower")
        let uncased = BERTTextOptions(cleanText: false, chineseCharacters: false, stripAccents: true, lowercase: true)
        let lower = BERTTextOptions(cleanText: false, chineseCharacters: false, stripAccents: false, lowercase: true)
        var out: [Unicode.Scalar] = [], scratch: [Unicode.Scalar] = []
        var failures: [String] = []
        func fail(_ s: String) { if failures.count < 20 { failures.append(s) } }
        for v in UInt32(0)...0x10FFFF {
            guard let c = Unicode.Scalar(v) else { continue }
            let hex = "U+" + String(v, radix: 16, uppercase: true)
            if BERTText.isRemoved(v) != inRanges(removed, v) { fail("\(hex) removed") }
            let ws = !BERTText.isRemoved(v) && BERTText.isWhitespace(v)
            if ws != inRanges(whitespace, v) { fail("\(hex) clean-text whitespace") }
            if BERTText.isChinese(v) != inRanges(chinese, v) { fail("\(hex) chinese") }
            if BERTText.isPunctuation(v) != inRanges(punctuation, v) { fail("\(hex) punctuation") }
            if BERTText.isWhitespace(v) != inRanges(split, v) { fail("\(hex) split whitespace") }
            // Single characters through accent stripping + lower-casing, and lower-casing alone.
            // Hangul syllables are checked on the sample the fixture keeps (every 61st).
            let hangul = (0xAC00...0xD7A3).contains(v)
            BERTText.normalize(CollectionOfOne(c), uncased, into: &out, scratch: &scratch)
            let got = out.map(\.value)
            if inRanges(marks, v) {
                if !got.isEmpty { fail("\(hex) is a nonspacing mark, normalised to \(got)") }
            } else if let want = uncasedMap[v] {
                if got != want { fail("\(hex) uncased: \(got), expected \(want)") }
            } else if !hangul && got != [v] {
                fail("\(hex) uncased: \(got), expected unchanged")
            }
            BERTText.normalize(CollectionOfOne(c), lower, into: &out, scratch: &scratch)
            let gotLower = out.map(\.value)
            if let want = lowerMap[v] {
                if gotLower != want { fail("\(hex) lower: \(gotLower), expected \(want)") }
            } else if !hangul && gotLower != [v] {
                fail("\(hex) lower: \(gotLower), expected unchanged")
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// all-MiniLM-L6-v2's tokenizer, through tokenizer.json and through vocab.txt, against
    /// Hugging Face's ids on 1,122 strings (captions, accents, scripts, CJK, emoji, control
    /// characters, special-token text, over-long words and texts truncated to 256).
    @Test func miniLMMatchesHuggingFace() throws {
        let dir = try miniLMDirectory()
        let f = try fixture("bert_tokenizer_minilm")
        let strings = try fixtureStrings(f)
        let expected = try fixtureIDLists(f, "ids", "id_offsets")
        #expect(strings.count >= 1000 && strings.count == expected.count)
        let fromJSON = try WordPieceTokenizer.load(directory: dir)
        // The same vocabulary and settings through vocab.txt + tokenizer_config.json alone.
        let tmp = try TempDirectory()
        for name in ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(atPath: dir + "/" + name, toPath: tmp.file(name))
        }
        let fromTxt = try WordPieceTokenizer.load(directory: tmp.path)
        #expect(fromJSON.options == BERTTextOptions(cleanText: true, chineseCharacters: true, stripAccents: nil, lowercase: true))
        #expect(fromJSON.vocabularySize == 30522 && fromTxt.vocabularySize == 30522)
        for tok in [fromJSON, fromTxt] {
            var mismatches = 0
            for (s, want) in zip(strings, expected) {
                let got = tok.encode(s, maxLength: 256)
                if got != want {
                    mismatches += 1
                    if mismatches <= 5 {
                        Issue.record("\(s.debugDescription):\n  got      \(describe(got, tok))\n  expected \(describe(want, tok))")
                    }
                }
            }
            #expect(mismatches == 0, "\(mismatches) of \(strings.count) strings differ")
        }
    }

    /// A small vocabulary under several option sets (lower-casing, accent stripping, Chinese
    /// characters) against Hugging Face's BertTokenizer with the same options.
    @Test func optionSetsMatchHuggingFace() throws {
        let f = try fixture("bert_tokenizer_options")
        let strings = try fixtureStrings(f)
        let vocab = try WordPieceTokenizer.readVocabTxt(fixturePath("MoDEModelsTests", "tiny_bert/vocab.txt"))
        let sets: [(String, BERTTextOptions)] = [
            ("uncased", BERTTextOptions()),
            ("cased", BERTTextOptions(lowercase: false)),
            ("lower_keep_accents", BERTTextOptions(stripAccents: false, lowercase: true)),
            ("cased_strip_accents", BERTTextOptions(stripAccents: true, lowercase: false)),
            ("uncased_no_chinese", BERTTextOptions(chineseCharacters: false)),
        ]
        for (name, options) in sets {
            let tok = try WordPieceTokenizer(vocabulary: vocab, options: options)
            let expected = try fixtureIDLists(f, name + "_ids", name + "_id_offsets")
            var mismatches = 0
            for (s, want) in zip(strings, expected) {
                let got = tok.encode(s, maxLength: 64)
                if got != want {
                    mismatches += 1
                    if mismatches <= 3 {
                        Issue.record("\(name) \(s.debugDescription):\n  got      \(describe(got, tok))\n  expected \(describe(want, tok))")
                    }
                }
            }
            #expect(mismatches == 0, "\(name): \(mismatches) of \(strings.count) strings differ")
        }
    }

    @Test func wordPieceGreedyLongestMatch() throws {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "unaff", "##a", "##b", "a", "b", "."]
        let tok = try WordPieceTokenizer(vocabulary: vocab.enumerated().map { ($1, Int32($0)) }, maxInputCharsPerWord: 6)
        func pieces(_ s: String) -> [String] { tok.tokenize(s).map { tok.token($0)! } }
        #expect(pieces("unaffable") == ["[UNK]"])  // 9 characters > 6
        #expect(pieces("unaffa") == ["unaff", "##a"])
        #expect(pieces("UNAB.") == ["un", "##a", "##b", "."])
        #expect(pieces("unx") == ["[UNK]"])
        #expect(pieces("a [MASK] b") == ["a", "[MASK]", "b"])
        #expect(tok.encode("a b a b", maxLength: 4) == [2, 11, 12, 3])
        let batch = tok.encodeBatch(["a", "a b ."], maxLength: 8)
        #expect(batch.length == 5 && batch.lengths == [3, 5])
        #expect(batch.ids == [2, 11, 3, 0, 0, 2, 11, 12, 13, 3])
        #expect(batch.attentionMask == [1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
        #expect(batch.tokenTypeIds == [Int32](repeating: 0, count: 10))
    }

    @Test func vocabTxtLineEndings() throws {
        let tmp = try TempDirectory()
        try Data("[PAD]\r\n[UNK]\r[CLS]\n\n[SEP]\na b".utf8).write(to: URL(fileURLWithPath: tmp.file("vocab.txt")))
        let v = try WordPieceTokenizer.readVocabTxt(tmp.file("vocab.txt"))
        #expect(v.map(\.token) == ["[PAD]", "[UNK]", "[CLS]", "", "[SEP]", "a b"])
        #expect(v.map(\.id) == [0, 1, 2, 3, 4, 5])
    }

    @Test func missingVocabularyIsAClearError() throws {
        let tmp = try TempDirectory()
        #expect {
            try WordPieceTokenizer.load(directory: tmp.path)
        } throws: { e in
            (e as? BERTError)?.problem == .missingFile(what: "vocabulary (tokenizer.json or vocab.txt)")
        }
        try Data("[PAD]\n[UNK]\n[SEP]\n".utf8).write(to: URL(fileURLWithPath: tmp.file("vocab.txt")))
        #expect {
            try WordPieceTokenizer.load(directory: tmp.path)
        } throws: { e in
            "\(e)".contains("\"[CLS]\" is not in the vocabulary") && "\(e)".contains("vocab.txt")
        }
    }
}
