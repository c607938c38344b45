import Foundation
import MoDEData

/// An inference input that cannot be used, naming the file or argument at fault.
public enum InferenceError: Error, CustomStringConvertible, Equatable {
    /// `what` (a path, pattern or option) cannot be used because of `reason`.
    case invalid(String, String)

    public var description: String {
        switch self {
        case let .invalid(what, reason): return "\(what): \(reason)"
        }
    }
}

/// Where the images of an inference request come from, in output order.
public enum ImageInput: Sendable, Equatable {
    /// One image file.
    case file(String)
    /// A WebDataset shard: each sample's image (`jpg`, `jpeg`, `png` or `webp`), in shard order.
    case shard(String)
}

/// Turns the paths a user gives into image inputs, and reads label and text files.
public enum InferenceInputs {
    /// File extensions taken from folders and globs (case-insensitive).
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "webp"]

    /// The inputs of `paths`, in order: an image file as given (any extension); a folder, every
    /// image file below it (recursive, sorted by path); a glob (`*` and `?` within a name, `**`
    /// for any number of folders), its matching image files and shards, sorted; a `.tar` file
    /// or a brace pattern (`shard-{000..009}.tar`), WebDataset shards. A path that does not
    /// exist, a glob that matches nothing and a folder without image files are errors.
    public static func expand(_ paths: [String]) throws -> [ImageInput] {
        var out: [ImageInput] = []
        for p in paths {
            if p.contains("*") || p.contains("?") {
                let matches = try glob(p).filter { isImage($0) || $0.hasSuffix(".tar") }
                guard !matches.isEmpty else { throw InferenceError.invalid(p, "no image file or shard matches the pattern") }
                out += matches.map { $0.hasSuffix(".tar") ? .shard($0) : .file($0) }
            } else if p.contains("{") || p.contains("::") {
                out += try resolveShards(p).map { .shard($0) }
            } else {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
                    throw InferenceError.invalid(p, "no such file or folder")
                }
                if isDir.boolValue {
                    let files = try imageFiles(in: p)
                    guard !files.isEmpty else {
                        throw InferenceError.invalid(p, "no image files (\(imageExtensions.sorted().joined(separator: ", "))) in the folder")
                    }
                    out += files.map { .file($0) }
                } else {
                    out.append(p.hasSuffix(".tar") ? .shard(p) : .file(p))
                }
            }
        }
        return out
    }

    /// True when `path`'s extension is one of `imageExtensions`.
    public static func isImage(_ path: String) -> Bool {
        imageExtensions.contains((path as NSString).pathExtension.lowercased())
    }

    /// The image files below `folder` (recursive), sorted by path.
    public static func imageFiles(in folder: String) throws -> [String] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: folder) else { throw InferenceError.invalid(folder, "cannot list the folder") }
        var files: [String] = []
        let base = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        while let rel = walker.nextObject() as? String {
            let full = base + "/" + rel
            var isDir: ObjCBool = false
            if isImage(rel), fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { files.append(full) }
        }
        return files.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The files and folders matching `pattern`, sorted by path. `*` and `?` match within one
    /// name (not a leading '.'), `**` as a whole name matches any number of folders (none
    /// included); matches are found by walking the folders, not by the shell.
    public static func glob(_ pattern: String) throws -> [String] {
        let absolute = pattern.hasPrefix("/")
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var found: Set<String> = []
        walk(absolute ? "/" : "", parts[...], into: &found)
        return found.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private static func walk(_ base: String, _ parts: ArraySlice<String>, into found: inout Set<String>) {
        let fm = FileManager.default
        func join(_ name: String) -> String { base.isEmpty ? name : (base.hasSuffix("/") ? base + name : base + "/" + name) }
        func isDir(_ p: String) -> Bool {
            var d: ObjCBool = false
            return fm.fileExists(atPath: p, isDirectory: &d) && d.boolValue
        }
        guard let part = parts.first else {
            if !base.isEmpty { found.insert(base) }
            return
        }
        let rest = parts.dropFirst()
        if part == "**" {
            walk(base, rest, into: &found)  // no folder
            let dir = base.isEmpty ? "." : base
            for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []) where !name.hasPrefix(".") {
                let p = join(name)
                if isDir(p) { walk(p, parts, into: &found) }
            }
        } else if part.contains("*") || part.contains("?") {
            let dir = base.isEmpty ? "." : base
            for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []) where fnmatch(part, name, FNM_PERIOD) == 0 {
                let p = join(name)
                if rest.isEmpty || isDir(p) { walk(p, rest, into: &found) }
            }
        } else {
            let p = join(part)
            if fm.fileExists(atPath: p) { walk(p, rest, into: &found) }
        }
    }

    /// The non-blank lines of a UTF-8 text file, trimmed of surrounding whitespace.
    public static func lines(ofFile path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw InferenceError.invalid(path, "cannot read the file") }
        guard let text = String(validatingUTF8Bytes: [UInt8](data)) else { throw InferenceError.invalid(path, "not UTF-8 text") }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Labels from a comma-separated list (items trimmed, empty items dropped).
    public static func labels(commaSeparated list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Labels from a file, one a line; an empty file is an error naming it.
    public static func labels(file path: String) throws -> [String] {
        let l = try lines(ofFile: path)
        guard !l.isEmpty else { throw InferenceError.invalid(path, "the labels file holds no labels") }
        return l
    }
}
