import Foundation
import TestSupport
import Testing
@testable import MoDETokenizers

/// gzip decompression against streams written by Python's gzip and zlib modules
/// (Fixtures/gzip_cases.json, made by tools/gzip_fixture.py).
@Suite struct GzipTests {
    struct Case: Decodable {
        var name: String
        var gzip: String
        var plain: String?
    }

    struct CasesFile: Decodable {
        var cases: [Case]
        var corrupt: [Case]
    }

    static func load() throws -> CasesFile {
        try JSONDecoder().decode(CasesFile.self, from: Data(contentsOf: try Fixtures.url("gzip_cases")))
    }

    static func bytes(_ base64: String) throws -> [UInt8] {
        [UInt8](try #require(Data(base64Encoded: base64), "bad base64 in gzip_cases.json"))
    }

    @Test func decompressesPythonsStreams() throws {
        let file = try Self.load()
        #expect(file.cases.count == 7)
        for c in file.cases {
            let out = try Gzip.decompress(try Self.bytes(c.gzip))
            #expect(out == (try Self.bytes(try #require(c.plain))), "\(c.name)")
        }
    }

    @Test func rejectsCorruptStreams() throws {
        let file = try Self.load()
        #expect(file.corrupt.map(\.name) == ["bad_crc", "bad_length", "truncated", "bad_deflate"])
        for c in file.corrupt {
            let stream = try Self.bytes(c.gzip)
            #expect(throws: GzipError.self, "\(c.name)") { _ = try Gzip.decompress(stream) }
        }
    }

    @Test func rejectsDataThatIsNotGzip() {
        #expect(!Gzip.isGzip(Array("plain".utf8)))
        #expect(throws: GzipError.self) { _ = try Gzip.decompress(Array("plain text".utf8)) }
        #expect(throws: GzipError.self) { _ = try Gzip.decompress([]) }
    }

    @Test func corruptVocabularyFileIsNamedInTheError() throws {
        let dir = try TempDirectory()
        let path = dir.file("vocab.txt.gz")
        let corrupt = try Self.load().corrupt[0]
        try Data(try Self.bytes(corrupt.gzip)).write(to: URL(fileURLWithPath: path))
        do {
            _ = try CLIPTokenizer(vocabularyPath: path)
            Issue.record("a corrupt vocabulary loaded")
        } catch let error as CLIPVocabularyError {
            guard case .unreadable(let p, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(p == path)
            #expect(error.description.contains(path))
        }
    }

    @Test func dynamicHuffmanVocabularyFile() throws {
        // The real vocabulary uses dynamic blocks; its CRC-32 and length are checked by decompress.
        let path = try CLIPTokenizer.defaultVocabularyPath()
        let out = try Gzip.decompress([UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n"))
        #expect(out.filter { $0 == 0x0A }.count == 262_145)
    }
}
