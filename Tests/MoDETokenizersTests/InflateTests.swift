import Foundation
import Testing
@testable import MoDETokenizers

/// gzip / deflate decoding on hand-made streams (stored, fixed and dynamic Huffman blocks).
@Suite struct InflateTests {
    /// gzip of "hello hello hello hello\n" (fixed Huffman with a back-reference), as written by gzip -n.
    let fixed: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xCB, 0x48, 0xCD, 0xC9,
                          0xC9, 0x57, 0xC8, 0x40, 0x27, 0xB9, 0x00, 0x00, 0x88, 0x59, 0x0B, 0x18, 0x00, 0x00, 0x00]

    @Test func fixedHuffmanWithBackReference() throws {
        #expect(try Gzip.decompress(fixed) == Array("hello hello hello hello\n".utf8))
    }

    @Test func storedBlock() throws {
        // Raw deflate: final stored block of 5 bytes.
        let raw: [UInt8] = [0x01, 0x05, 0x00, 0xFA, 0xFF] + Array("abcde".utf8)
        let (out, end) = try Inflate.inflate(raw)
        #expect(out == Array("abcde".utf8) && end == raw.count)
    }

    @Test func crcMismatchIsReported() {
        var bad = fixed
        bad[bad.count - 8] ^= 1
        #expect(throws: InflateError.self) { _ = try Gzip.decompress(bad) }
    }

    @Test func truncatedStreamIsReported() {
        #expect(throws: InflateError.self) { _ = try Gzip.decompress(Array(fixed.prefix(15))) }
    }

    @Test func concatenatedMembers() throws {
        #expect(try Gzip.decompress(fixed + fixed) == Array("hello hello hello hello\n".utf8) + Array("hello hello hello hello\n".utf8))
    }

    @Test func dynamicHuffmanVocabularyFile() throws {
        // The real vocabulary uses dynamic blocks; its CRC-32 and length are checked by decompress.
        let path = try CLIPTokenizer.defaultVocabularyPath()
        let out = try Gzip.decompress([UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n"))
        #expect(out.filter { $0 == 0x0A }.count == 262_145)
    }

    @Test func crc32KnownValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
