import Foundation
import TestSupport
import Testing
@testable import MoDETokenizers

/// Unit tests: byte alphabet, BPE of known words, special tokens, truncation and padding,
/// decoding, vocabulary loading errors. Expected ids are open_clip 3.3's.
@Suite struct CLIPTokenizerTests {
    @Test func byteAlphabet() {
        // bytes_to_unicode(): printable bytes stand for themselves, the other 68 for U+0100… in byte order.
        let expected: [(UInt8, UInt32)] = [(0x00, 0x100), (0x20, 0x120), (0x21, 0x21), (0x7E, 0x7E), (0x7F, 0x121),
                                           (0x80, 0x122), (0xA0, 0x142), (0xA1, 0xA1), (0xAC, 0xAC), (0xAD, 0x143),
                                           (0xAE, 0xAE), (0xFF, 0xFF)]
        for (b, c) in expected { #expect(ByteLevel.characterOfByte[Int(b)].value == c, "byte \(b)") }
        #expect(Set(ByteLevel.characterOfByte).count == 256)
        #expect(ByteLevel.byteOrder.count == 256 && Set(ByteLevel.byteOrder).count == 256)
        #expect(ByteLevel.byteOrder.prefix(3) == [0x21, 0x22, 0x23])
        #expect(ByteLevel.byteOrder[188] == 0x00)  // first of the remapped bytes
    }

    @Test func preTokenizerSplits() {
        // Expected pieces: regex.findall of open_clip's pattern on the same (already cleaned) text.
        let cases: [(String, [String])] = [
            ("don't stop!! 1999 it's", ["don", "'t", "stop", "!!", "1", "9", "9", "9", "it", "'s"]),
            ("a\u{345}b!\u{345}!", ["a", "b", "!", "!"]),  // U+0345 matches no alternative
            ("<start_of_text>'ll'ſ x<end_of_text", ["<start_of_text>", "'ll", "'ſ", "x", "<", "end", "_", "of", "_", "text"]),
            ("①½x²", ["①", "½", "x", "²"]),
            ("‐—...", ["‐—..."]),
        ]
        for (text, expected) in cases {
            let s = PythonUnicode.scalars(text)
            let pieces = CLIPPreTokenizer.split(s).map { PythonUnicode.string(Array(s[$0])) }
            #expect(pieces == expected, "\(text)")
        }
    }

    @Test func byteTokenIDs() throws {
        let t = try Fixtures.sharedTokenizer()
        // (byte, id without "</w>", id with "</w>") from open_clip's encoder.
        for (b, id, idEnd) in [(0x00, 188, 444), (0x20, 220, 476), (0x21, 0, 256), (0x7F, 221, 477), (0xAD, 255, 511), (0xFF, 187, 443)] {
            #expect(t.vocabulary[id].unicodeScalars.first == ByteLevel.characterOfByte[b])
            #expect(t.bpe([UInt8(b), 0x7A]) == [Int32(id), 345], "byte \(b) before \"z</w>\"")  // no merge applies
            #expect(t.bpe([UInt8(b)]) == [Int32(idEnd)], "byte \(b) alone")
        }
    }

    @Test func vocabularyLayout() throws {
        let t = try Fixtures.sharedTokenizer()
        #expect(t.vocabularySize == 49408)
        #expect(t.startOfText == 49406 && t.endOfText == 49407)
        #expect(t.vocabulary[512] == "in" && t.vocabulary[513] == "th" && t.vocabulary[49405] == "jekyll</w>")
    }

    @Test func bpeOfKnownWords() throws {
        let t = try Fixtures.sharedTokenizer()
        let cases: [(String, [Int32])] = [
            ("hello", [3306]), ("world", [1002]), ("tokenization", [32634, 10847]), ("photograph", [8853]),
            ("the", [518]), ("cat", [2368]), ("aaaa", [19336]), ("supercalifragilistic", [1642, 2857, 13093, 2076, 1561]),
            ("ñ", [127, 365]), ("😀", [7334]), ("don't", [847, 713]),
        ]
        for (word, ids) in cases { #expect(t.encode(word) == ids, "\(word)") }
        // Raw BPE of one pre-token, bypassing the cleaning: "Ġ" is the bytes C4 A0 ("Ä", "ł</w>");
        // encode lower-cases it to "ġ" (C4 A1) first.
        #expect(t.bpe(Array("Ġ".utf8)) == [128, 510])
        #expect(t.encode("Ġ") == [128, 350])
    }

    @Test func specialTokensInText() throws {
        let t = try Fixtures.sharedTokenizer()
        #expect(t.encode("<start_of_text>") == [49406])
        #expect(t.encode("<END_OF_TEXT>") == [49407])  // lower-cased first
        #expect(t.encode("<ſtart_of_text>") != [49406])  // matches the pattern (ſ ≈ s) but is not the token
    }

    @Test func tokenizePadsAndTruncates() throws {
        let t = try Fixtures.sharedTokenizer()
        #expect(t.tokenize("a photo of a cat") == [49406, 320, 1125, 539, 320, 2368, 49407] + [Int32](repeating: 0, count: 70))
        #expect(t.tokenize("a photo of a cat", contextLength: 5) == [49406, 320, 1125, 539, 49407])
        #expect(t.tokenize("a photo of a cat", contextLength: 7) == [49406, 320, 1125, 539, 320, 2368, 49407])
        #expect(t.tokenize("a photo of a cat", contextLength: 1) == [49407])
        #expect(t.tokenize("", contextLength: 3) == [49406, 49407, 0])
        let long = t.tokenize(String(repeating: "word ", count: 200))
        #expect(long.count == 77 && long.first == 49406 && long.last == 49407 && !long.contains(0))
        let rows = t.tokenize(["a", "b c"], contextLength: 4)
        #expect(rows == [[49406, 320, 49407, 0], [49406, 321, 322, 49407]])
    }

    @Test func decodeRendersWords() throws {
        let t = try Fixtures.sharedTokenizer()
        #expect(t.decode([49406, 320, 1125, 539, 320, 2368, 49407]) == "<start_of_text>a photo of a cat <end_of_text>")
        #expect(t.decode(t.encode("Crème brûlée 😀")) == "crème brûlée 😀 ")
        #expect(t.decode([127]) == "\u{FFFD}")  // half a UTF-8 sequence
    }

    @Test func concurrentEncodingIsConsistent() async throws {
        let t = try Fixtures.sharedTokenizer()
        let texts = (0..<64).map { "caption number \($0) with a café and 😀 \($0 * 7919)" }
        let serial = texts.map { t.encode($0) }
        let parallel = await withTaskGroup(of: (Int, [Int32]).self) { group in
            for (i, s) in texts.enumerated() { group.addTask { (i, t.encode(s)) } }
            var out = [[Int32]](repeating: [], count: texts.count)
            for await (i, ids) in group { out[i] = ids }
            return out
        }
        #expect(parallel == serial)
    }

    // MARK: loading

    @Test func missingFileIsNamedWithSetupHint() {
        #expect {
            _ = try CLIPTokenizer(vocabularyPath: "/nonexistent/bpe_simple_vocab_16e6.txt.gz")
        } throws: { error in
            let text = "\(error)"
            return text.contains("/nonexistent/bpe_simple_vocab_16e6.txt.gz") && text.contains("fetch_clip_vocab.sh")
        }
    }

    @Test func malformedVocabulariesAreRejected() throws {
        let dir = try TempDirectory()

        let short = dir.file("short.txt")
        try Data("header\ni n\nt h\n".utf8).write(to: URL(fileURLWithPath: short))
        #expect {
            _ = try CLIPTokenizer(vocabularyPath: short)
        } throws: { error in
            guard case CLIPVocabularyError.malformed(let path, _) = error else { return false }
            return path == short
        }

        let badLine = dir.file("bad.txt")
        var lines = ["header"] + [String](repeating: "a b", count: CLIPTokenizer.mergeCount)
        lines[100] = "abc"
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: badLine))
        #expect {
            _ = try CLIPTokenizer(vocabularyPath: badLine)
        } throws: { error in
            guard case CLIPVocabularyError.malformed(let path, let reason) = error else { return false }
            return path == badLine && reason.contains("line 101")
        }

        let corrupt = dir.file("corrupt.gz")
        try Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF]).write(to: URL(fileURLWithPath: corrupt))
        #expect {
            _ = try CLIPTokenizer(vocabularyPath: corrupt)
        } throws: { error in
            guard case CLIPVocabularyError.unreadable(let path, _) = error else { return false }
            return path == corrupt && "\(error)".contains(corrupt)
        }
    }

    @Test func plainTextVocabularyGivesSameTokenizer() throws {
        let gz = try CLIPTokenizer.defaultVocabularyPath()
        let text = try Gzip.decompress([UInt8](Data(contentsOf: URL(fileURLWithPath: gz))))
        let t = try CLIPTokenizer(mergesData: text, source: "decompressed")
        #expect(t.encode("a photo of a cat") == [320, 1125, 539, 320, 2368])
        #expect(t.vocabulary == (try Fixtures.sharedTokenizer()).vocabulary)
    }

    @Test func defaultLocationSearch() throws {
        let dir = try TempDirectory()
        let nested = dir.file("a/b/c")
        try FileManager.default.createDirectory(atPath: nested, withIntermediateDirectories: true)
        // Nothing there: every candidate is listed, with the setup hint.
        #expect {
            _ = try CLIPTokenizer.defaultVocabularyPath(environment: [:], searchingFrom: [nested])
        } throws: { error in
            let text = "\(error)"
            return text.contains(dir.file("a/b/c/.deps/clip/bpe_simple_vocab_16e6.txt.gz"))
                && text.contains(dir.file(".deps/clip/bpe_simple_vocab_16e6.txt.gz")) && text.contains("fetch_clip_vocab.sh")
        }
        // A file in .deps/clip two levels up is found.
        try FileManager.default.createDirectory(atPath: dir.file("a/.deps/clip"), withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: dir.file("a/.deps/clip/bpe_simple_vocab_16e6.txt.gz")))
        #expect(try CLIPTokenizer.defaultVocabularyPath(environment: [:], searchingFrom: [nested])
                == dir.file("a/.deps/clip/bpe_simple_vocab_16e6.txt.gz"))
        // MODE_CLIP_VOCAB wins, and names itself when the file is missing.
        let real = try CLIPTokenizer.defaultVocabularyPath()
        #expect(try CLIPTokenizer.defaultVocabularyPath(environment: ["MODE_CLIP_VOCAB": real], searchingFrom: [nested]) == real)
        #expect {
            _ = try CLIPTokenizer.defaultVocabularyPath(environment: ["MODE_CLIP_VOCAB": dir.file("none.gz")], searchingFrom: [nested])
        } throws: { error in "\(error)".contains("none.gz (from MODE_CLIP_VOCAB)") }
    }
}
