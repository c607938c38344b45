import Testing
@testable import MoDEFormats

@Suite struct CSVTests {
    /// The rows of tools/csv_reference.py.
    static let rows: [[String]] = [
        ["plain", "with,comma", "say \"hi\"", "cr\rin", "lf\nin", "crlf\r\nin", "", "caf\u{E9}, \"x\""],
        ["a", "b"],
    ]

    @Test func matchesPythonsCSVModule() {
        // Python's csv.writer(lineterminator="\r\n") output for `rows` (tools/csv_reference.py).
        let expected = "plain,\"with,comma\",\"say \"\"hi\"\"\",\"cr\rin\",\"lf\nin\",\"crlf\r\nin\",,\"caf\u{E9}, \"\"x\"\"\"\r\na,b\r\n"
        var w = CSVWriter(lineEnding: "\r\n")
        for r in Self.rows { w.row(r) }
        #expect(w.text == expected)
    }

    @Test func defaultLineEndingIsLF() {
        var w = CSVWriter()
        w.row(["x", "y,z"])
        w.row([])
        #expect(w.text == "x,\"y,z\"\n\n")
    }

    @Test func fieldsThatNeedNoQuotesStayAsTheyAre() {
        for s in ["", "abc", "a b", "0.123456", "tab\there", "caf\u{E9}"] {
            #expect(CSVWriter.field(s) == s)
        }
        #expect(CSVWriter.field("\"") == "\"\"\"\"")
    }
}
