import Foundation
import MoDEFormats
import TestSupport
import Testing
@testable import MoDETokenizers

/// Shared test resources: the reference fixtures (tools/clip_tokenizer_fixture.py) and the
/// tokenizer loaded once from the vocabulary the setup installs.
enum Fixtures {
    /// The tokenizer at the default location; loading fails (with a message to run the setup)
    /// when the vocabulary has not been fetched.
    static let tokenizer: Result<CLIPTokenizer, Error> = Result { try CLIPTokenizer() }

    /// The shared tokenizer, or the loading error (its description says how to fetch the file).
    static func sharedTokenizer() throws -> CLIPTokenizer { try tokenizer.get() }

    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
                     "fixture \(name).json is missing; run tools/clip_tokenizer_fixture.py")
    }

    /// One string of clip_tokenizer_cases.json with open_clip's cleaned text.
    struct Case: Decodable {
        var text: String
        var clean: String
    }

    struct CasesFile: Decodable {
        struct Meta: Decodable {
            var context_length: Int
            var open_clip: String
            var ftfy: String
        }
        var meta: Meta
        var cases: [Case]
    }

    static let cases: Result<CasesFile, Error> = Result {
        try JSONDecoder().decode(CasesFile.self, from: Data(contentsOf: try url("clip_tokenizer_cases")))
    }

    /// open_clip.tokenize of the case strings: clip_tokenizer_ids.safetensors "ids", int32 (N, 77), as rows.
    static let ids: Result<[[Int32]], Error> = Result {
        let file = try fixture("clip_tokenizer_ids", in: Bundle.module)
        let shape = try #require(file.info("ids")?.shape, "clip_tokenizer_ids.safetensors has no \"ids\"")
        let flat = try file.int32s("ids")
        return (0..<shape[0]).map { Array(flat[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
    }

    /// clip_text_tables.json. (Read with JSONDecoder: JSONSerialization drops a leading U+FEFF.)
    struct Tables: Decodable {
        struct BadCases: Decodable {
            var strings: [String]
            var expected: [Bool]
        }
        var letter_ranges: [[Int]]
        var number_ranges: [[Int]]
        var other_ranges: [[Int]]
        var space_ranges: [[Int]]
        var python_lower: [String: [UInt32]]
        var python_nfc: [String: [UInt32]]
        var python_alnum_ranges: [[Int]]
        var python_decimal_ranges: [[Int]]
        var ftfy_upper_entities: [String: String]
        var is_bad: BadCases
        var fix_encoding: [[String]]
        var html_unescape: [[String]]
    }

    static let tables: Result<Tables, Error> = Result {
        try JSONDecoder().decode(Tables.self, from: Data(contentsOf: try url("clip_text_tables")))
    }

    /// Code points of a string, as text for messages.
    static func hex(_ s: String) -> String { s.unicodeScalars.map { String(format: "%04X", $0.value) }.joined(separator: " ") }
    static func hex(_ s: [UInt32]) -> String { s.map { String(format: "%04X", $0) }.joined(separator: " ") }
}

/// Opens Tests/MoDETokenizersTests/Fixtures/`name`.safetensors.
func fixture(_ name: String) throws -> SafeTensorsFile { try TestSupport.fixture(name, in: .module) }
