import Foundation
import MoDEFormats

/// A failure loading or using a BERT model directory: the file concerned and what is wrong.
public struct BERTError: Error, CustomStringConvertible, Equatable {
    public enum Problem: Equatable, Sendable {
        /// A required file is absent; `what` says which role it plays.
        case missingFile(what: String)
        /// The file is not readable JSON of the expected form.
        case invalidJSON(reason: String)
        /// A value in the file is missing or out of range.
        case invalidValue(key: String, reason: String)
        /// The file asks for something this implementation does not do.
        case unsupported(String)
        /// Weights the model needs are absent from the file (the first few names, and how many).
        case missingWeights(names: [String], count: Int)
        /// A tensor's shape differs from what the configuration implies.
        case shapeMismatch(name: String, expected: [Int], actual: [Int])
        /// The tokenizer can produce ids the word-embedding matrix has no row for.
        case vocabularyMismatch(tokenizerSize: Int, embeddingRows: Int)
        /// Input text problem (e.g. a blank line where text is required).
        case invalidInput(String)
    }

    /// The file (or directory) concerned.
    public let path: String
    public let problem: Problem

    public init(path: String, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        let what: String
        switch problem {
        case let .missingFile(w): what = "missing \(w)"
        case let .invalidJSON(r): what = "not valid JSON: \(r)"
        case let .invalidValue(k, r): what = "\"\(k)\": \(r)"
        case let .unsupported(s): what = "unsupported: \(s)"
        case let .missingWeights(names, count):
            what = "missing \(count) weight tensor\(count == 1 ? "" : "s"): \(names.joined(separator: ", "))\(count > names.count ? ", …" : "")"
        case let .shapeMismatch(name, e, a): what = "tensor \"\(name)\" has shape \(a), the configuration implies \(e)"
        case let .vocabularyMismatch(t, r):
            what = "the tokenizer's vocabulary has ids up to \(t - 1) but the word-embedding matrix has \(r) rows"
        case let .invalidInput(s): what = s
        }
        return "\(path): \(what)"
    }
}

/// Small JSON helpers for Hugging Face configuration files (parsed with the strict `JSONValue`).
package enum HFJSON {
    /// The top-level object of JSON file `path`.
    package static func object(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BERTError(path: path, .missingFile(what: "file (cannot read it)"))
        }
        let value: JSONValue
        do { value = try JSONValue.parse(data) } catch {
            throw BERTError(path: path, .invalidJSON(reason: "\(error)"))
        }
        guard value.members != nil else { throw BERTError(path: path, .invalidJSON(reason: "the top level is not an object")) }
        return value
    }

    /// The object in `path` when the file exists, else nil.
    package static func optionalObject(_ path: String) throws -> JSONValue? {
        FileManager.default.fileExists(atPath: path) ? try object(path) : nil
    }

    /// `obj[key]` when it is an object (nil when absent, null or of another kind).
    package static func objectMember(_ obj: JSONValue?, _ key: String) -> JSONValue? {
        guard let v = obj?[key], v.members != nil else { return nil }
        return v
    }

    /// `obj[key]` as a Bool (nil when absent or null); throws when of another type.
    package static func bool(_ obj: JSONValue?, _ key: String, _ path: String) throws -> Bool? {
        guard let v = obj?[key], !v.isNull else { return nil }
        if let b = v.bool { return b }
        throw BERTError(path: path, .invalidValue(key: key, reason: "expected true or false, found \(v)"))
    }

    /// `obj[key]` as an Int (nil when absent or null); throws when not a whole number.
    package static func int(_ obj: JSONValue?, _ key: String, _ path: String) throws -> Int? {
        guard let v = obj?[key], !v.isNull else { return nil }
        if let i = wholeNumber(v) { return i }
        throw BERTError(path: path, .invalidValue(key: key, reason: "expected an integer, found \(v)"))
    }

    /// An integer, also when written with a fraction or exponent (12.0, 1e3), as Python writes some.
    package static func wholeNumber(_ v: JSONValue) -> Int? {
        if let i = v.integer { return i }
        guard let d = v.double, d == d.rounded(), abs(d) < 9e18 else { return nil }
        return Int(d)
    }

    /// `obj[key]` as a Double (nil when absent or null).
    package static func double(_ obj: JSONValue?, _ key: String, _ path: String) throws -> Double? {
        guard let v = obj?[key], !v.isNull else { return nil }
        if let d = v.double { return d }
        throw BERTError(path: path, .invalidValue(key: key, reason: "expected a number, found \(v)"))
    }

    /// `obj[key]` as a String (nil when absent or null). A special-token entry may also be an
    /// object with "content".
    package static func string(_ obj: JSONValue?, _ key: String, _ path: String) throws -> String? {
        guard let v = obj?[key], !v.isNull else { return nil }
        if let s = v.string { return s }
        if let s = v["content"]?.string { return s }
        throw BERTError(path: path, .invalidValue(key: key, reason: "expected a string, found \(v)"))
    }
}
