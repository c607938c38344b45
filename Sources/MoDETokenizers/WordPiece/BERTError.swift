import Foundation

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

/// Small JSON helpers for Hugging Face configuration files.
package enum HFJSON {
    /// The top-level object of JSON file `path`.
    package static func object(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BERTError(path: path, .missingFile(what: "file (cannot read it)"))
        }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw BERTError(path: path, .invalidJSON(reason: "\(error.localizedDescription)"))
        }
        guard let obj = value as? [String: Any] else { throw BERTError(path: path, .invalidJSON(reason: "the top level is not an object")) }
        return obj
    }

    /// The object in `path` when the file exists, else nil.
    package static func optionalObject(_ path: String) throws -> [String: Any]? {
        FileManager.default.fileExists(atPath: path) ? try object(path) : nil
    }

    /// `obj[key]` as a Bool (nil when absent or null); throws when of another type.
    package static func bool(_ obj: [String: Any], _ key: String, _ path: String) throws -> Bool? {
        guard let v = obj[key], !(v is NSNull) else { return nil }
        if let b = v as? Bool { return b }
        throw BERTError(path: path, .invalidValue(key: key, reason: "expected true or false, found \(v)"))
    }

    /// `obj[key]` as an Int (nil when absent or null); throws when not an integer.
    package static func int(_ obj: [String: Any], _ key: String, _ path: String) throws -> Int? {
        guard let v = obj[key], !(v is NSNull) else { return nil }
        if let n = v as? NSNumber, let i = Int(exactly: n.doubleValue) { return i }
        throw BERTError(path: path, .invalidValue(key: key, reason: "expected an integer, found \(v)"))
    }

    /// `obj[key]` as a Double (nil when absent or null).
    package static func double(_ obj: [String: Any], _ key: String, _ path: String) throws -> Double? {
        guard let v = obj[key], !(v is NSNull) else { return nil }
        if let n = v as? NSNumber { return n.doubleValue }
        throw BERTError(path: path, .invalidValue(key: key, reason: "expected a number, found \(v)"))
    }

    /// `obj[key]` as a String (nil when absent or null). A special-token entry may also be an
    /// object with "content".
    package static func string(_ obj: [String: Any], _ key: String, _ path: String) throws -> String? {
        guard let v = obj[key], !(v is NSNull) else { return nil }
        if let s = v as? String { return s }
        if let o = v as? [String: Any], let s = o["content"] as? String { return s }
        throw BERTError(path: path, .invalidValue(key: key, reason: "expected a string, found \(v)"))
    }
}
