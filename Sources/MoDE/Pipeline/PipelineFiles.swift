import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

// Shared pieces of the shard-parallel pipeline (embed → cluster → assign): file naming, text
// lists stored as U8 tensors, worker slices, and the pipeline's typed error.

/// A failure at the pipeline's file and option boundary; every case names what is at fault.
public enum PipelineError: Error, Equatable, CustomStringConvertible {
    /// A file that exists but cannot be used (wrong tensors, shapes, metadata).
    case badFile(path: String, reason: String)
    /// A user option or input that cannot work (message says why and what to change).
    case invalid(String)
    /// An output that already exists and would be overwritten.
    case outputExists(path: String)

    public var description: String {
        switch self {
        case let .badFile(path, reason): "\(path): \(reason)"
        case let .invalid(message): message
        case let .outputExists(path): "\(path) already exists; remove it or choose another output"
        }
    }
}

/// The file stem used for a shard's per-shard outputs: its base name without `.tar`; when another
/// path in `among` has the same base name, the parent folder's name is prefixed (`parent_stem`).
/// Pure: it looks at the strings only. With `among` empty (or just `path`) it is the base stem.
public func shardStem(_ path: String, among: [String] = []) -> String {
    let stem = baseStem(path)
    let collides = among.contains { $0 != path && baseStem($0) == stem }
    guard collides else { return stem }
    let parent = (FilePaths.parent(path) as NSString).lastPathComponent
    return parent.isEmpty ? stem : parent + "_" + stem
}

/// The base name of `path` without a trailing `.tar`.
func baseStem(_ path: String) -> String {
    let name = (path as NSString).lastPathComponent
    return name.hasSuffix(".tar") ? String(name.dropLast(4)) : name
}

/// Output stems for a whole shard list (see `shardStem`); throws when two shards would still
/// share one (same folder name and base name).
public func shardStems(_ paths: [String]) throws -> [String] {
    let stems = paths.map { shardStem($0, among: paths) }
    var seen: [String: String] = [:]
    for (p, s) in zip(paths, stems) {
        if let other = seen[s], other != p {
            throw PipelineError.invalid("shards \(other) and \(p) would both be written as \(s).safetensors; rename one")
        }
        seen[s] = p
    }
    return stems
}

/// One worker's share of a list: the items whose index % count == index (0-based).
public struct WorkerSlice: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The whole list.
    public static let all = WorkerSlice(uncheckedIndex: 0, count: 1)

    private init(uncheckedIndex: Int, count: Int) {
        self.index = uncheckedIndex
        self.count = count
    }

    /// Parses "i/N" with 0 ≤ i < N.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else {
            throw PipelineError.invalid("--worker must be i/N with 0 ≤ i < N (0-based), got \"\(text)\"")
        }
        self.init(uncheckedIndex: i, count: n)
    }

    /// Whether item `i` of the list belongs to this worker.
    public func owns(_ i: Int) -> Bool { i % count == index }

    public var description: String { "\(index)/\(count)" }
}

/// A list of strings stored as one U8 tensor: UTF-8, joined by "\n" (so entries must not hold
/// newlines).
public enum TextList {
    /// The UTF-8 bytes of `items` joined by "\n".
    public static func encode(_ items: [String]) -> [UInt8] {
        Array(items.joined(separator: "\n").utf8)
    }

    /// Splits stored bytes back into `count` entries; nil when the number of entries differs.
    public static func decode(_ bytes: UnsafeRawBufferPointer, count: Int) -> [String]? {
        if count == 0 { return bytes.isEmpty ? [] : nil }
        let text = String(decoding: bytes, as: UTF8.self)
        let items = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return items.count == count ? items : nil
    }

    /// Reads U8 tensor `name` of `file` as `count` entries; throws naming the file otherwise.
    static func read(_ file: SafeTensorsFile, _ name: String, count: Int) throws -> [String] {
        guard let info = file.info(name) else { throw PipelineError.badFile(path: file.path, reason: "no tensor named \"\(name)\"") }
        guard info.dtype == .u8, info.shape.count == 1 else {
            throw PipelineError.badFile(path: file.path, reason: "\"\(name)\" must be a 1-D U8 tensor, is \(info.dtype.rawValue) \(info.shape)")
        }
        guard let items = decode(try file.rawBytes(name), count: count) else {
            throw PipelineError.badFile(path: file.path, reason: "\"\(name)\" does not hold \(count) newline-separated entries")
        }
        return items
    }
}

extension SafeTensorsWriter {
    /// Adds `items` as a U8 tensor (see `TextList`).
    mutating func addTextList(_ name: String, _ items: [String]) {
        let bytes = TextList.encode(items)
        add(name, bytes: bytes, dtype: .u8, shape: [bytes.count])
    }
}

/// The `.safetensors` files directly in `directory`, sorted by name; hidden files (the
/// temporary files of atomic writes start with ".") are ignored.
func safetensorsFiles(in directory: String) throws -> [String] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
        let exists = FileManager.default.fileExists(atPath: directory)
        throw PipelineError.invalid(exists ? "\(directory) is not a folder (a folder of .safetensors files is expected)"
                                           : "no such folder: \(directory)")
    }
    return try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }
        .sorted()
        .map { (directory as NSString).appendingPathComponent($0) }
}
