import Foundation
import Testing
@testable import MoDEData

@Suite struct CaptionLinesTests {
    @Test func blankLinesFailOrAreSkipped() throws {
        let text = "a dog\r\n\n  \ncat on a mat\n"
        #expect {
            try CaptionLines.parse(text, path: "caps.txt", skipBlank: false)
        } throws: { "\($0)" == "caps.txt: line 2 is blank (use --skip-blank to skip blank lines)" }
        let c = try CaptionLines.parse(text, path: "caps.txt", skipBlank: true)
        #expect(c == CaptionLines(texts: ["a dog", "cat on a mat"], lines: [1, 4], skipped: 2))
        #expect(try CaptionLines.parse("x", path: "p", skipBlank: false).texts == ["x"])
        #expect(try CaptionLines.parse("", path: "p", skipBlank: false).texts == [])
    }
}
