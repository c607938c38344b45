import Foundation
import Testing
@testable import MoDETokenizers

/// open_clip parity over the reference strings of clip_tokenizer_cases.json.
@Suite struct CLIPFixtureTests {
    @Test func cleanedTextMatchesOpenCLIP() throws {
        let file = try Fixtures.cases.get()
        var mismatches = 0
        for c in file.cases {
            let got = CLIPTextCleaner.clean(c.text)
            // Compared by code points: Swift's String == would treat canonically equivalent texts as equal.
            if !got.unicodeScalars.elementsEqual(c.clean.unicodeScalars) {
                mismatches += 1
                Issue.record("clean(\(c.text.debugDescription)) = \(got.debugDescription) [\(Fixtures.hex(got))], open_clip: \(c.clean.debugDescription) [\(Fixtures.hex(c.clean))]")
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(file.cases.count) cleaned texts differ")
    }

    @Test func idsMatchOpenCLIPTokenize() throws {
        let tokenizer = try Fixtures.sharedTokenizer()
        let file = try Fixtures.cases.get()
        let expected = try Fixtures.ids.get()
        let length = file.meta.context_length
        #expect(file.cases.count >= 1000)
        try #require(expected.count == file.cases.count && expected.allSatisfy { $0.count == length },
                     "clip_tokenizer_ids.safetensors does not match clip_tokenizer_cases.json; regenerate both")
        let rows = tokenizer.tokenize(file.cases.map(\.text), contextLength: length)
        var mismatches = 0
        for (c, (row, reference)) in zip(file.cases, zip(rows, expected)) where row != reference {
            mismatches += 1
            Issue.record("tokenize(\(c.text.debugDescription)):\n  got       \(row.prefix { $0 != 0 })\n  open_clip \(reference.prefix { $0 != 0 })")
        }
        #expect(mismatches == 0, "\(mismatches) of \(file.cases.count) strings tokenize differently from open_clip \(file.meta.open_clip) (ftfy \(file.meta.ftfy))")
    }
}
