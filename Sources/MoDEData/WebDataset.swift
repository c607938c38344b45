import Foundation
import MoDEFormats
import MoDETensor

/// One WebDataset sample: the members of a shard that share a key (the member path up to the
/// first dot of its file name), by extension (lower-cased, e.g. `jpg`, `txt`, `json`, `cls`).
public struct WebSample: Sendable {
    public var key: String
    /// The shard the sample came from.
    public var shard: String
    public var fields: [String: [UInt8]]

    public init(key: String, shard: String, fields: [String: [UInt8]]) {
        self.key = key
        self.shard = shard
        self.fields = fields
    }
}

/// Why a sample was skipped (beyond tar damage, which `TarDamage` counts).
public enum SkipReason: String, Error, Sendable, CaseIterable, Codable {
    case duplicateKey = "duplicate_key"
    case missingImage = "missing_image"
    case missingCaption = "missing_caption"
    case emptyCaption = "empty_caption"
    case invalidText = "invalid_text"
    case invalidJSON = "invalid_json"
    case missingClass = "missing_class"
    case undecodableImage = "undecodable_image"
    case imageTooLarge = "image_too_large"
    case filtered
}

/// Per-shard counts of samples read and skipped.
public struct ShardStats: Sendable, Codable, Equatable {
    public var shard: String
    /// Groups read from the shard (before caption/image checks, which the caller counts).
    public var samples = 0
    public var skipped: [String: Int] = [:]

    public init(shard: String) { self.shard = shard }
    public var skippedTotal: Int { skipped.values.reduce(0, +) }
    public mutating func skip(_ reason: String, _ n: Int = 1) { skipped[reason, default: 0] += n }
}

/// Splits a member path into (key, extension) as WebDataset does: the key is everything up to
/// the first dot of the file name (directories included), the extension the rest, lower-cased.
public func webDatasetKey(_ path: String) -> (key: String, ext: String)? {
    let slash = path.lastIndex(of: "/")
    let nameStart = slash.map { path.index(after: $0) } ?? path.startIndex
    guard let dot = path[nameStart...].firstIndex(of: "."), dot > nameStart else { return nil }
    return (String(path[..<dot]), String(path[path.index(after: dot)...]).lowercased())
}

/// Reads the samples of one shard in order, grouping consecutive members by key. A key seen
/// again after another key, or an extension repeated within a sample, counts as
/// `duplicate_key` and that sample is dropped. Members without an extension are ignored.
public final class ShardReader {
    public let shard: String
    public private(set) var stats: ShardStats
    private let tar: TarReader
    private var pending: TarEntry?
    private var seen: Set<String> = []

    public init(path: String) throws {
        shard = path
        tar = try TarReader(path: path)
        stats = ShardStats(shard: path)
    }

    /// The next complete group of members, or nil at the end of the shard. Tar damage counts are
    /// folded into `stats` when the shard ends.
    public func next() -> WebSample? {
        while true {
            guard let first = pending ?? readEntry() else {
                for (d, n) in tar.damage { stats.skipped[d.rawValue] = n }
                return nil
            }
            pending = nil
            guard let (key, ext) = webDatasetKey(first.name) else { continue }
            var fields = [ext: first.data]
            var duplicate = false
            while let e = readEntry() {
                guard let (k, x) = webDatasetKey(e.name) else { continue }
                if k != key { pending = e; break }
                if fields[x] != nil { duplicate = true }
                fields[x] = e.data
            }
            if duplicate || seen.contains(key) {
                stats.skip(SkipReason.duplicateKey.rawValue)
                continue
            }
            seen.insert(key)
            stats.samples += 1
            return WebSample(key: key, shard: shard, fields: fields)
        }
    }

    private func readEntry() -> TarEntry? { tar.next() }
}

/// Lists the shard files of a specification (brace notation, `::`-joined sources). Throws when
/// the specification is malformed or a listed file does not exist.
public func resolveShards(_ spec: String) throws -> [String] {
    let paths: [String]
    do { paths = try ShardSpec.expand(spec) } catch let e as ShardSpec.Error { throw DataError.invalid(spec, e.description) }
    guard !paths.isEmpty else { throw DataError.noShards(spec) }
    let missing = paths.filter { !FileManager.default.fileExists(atPath: $0) }
    if missing.count == paths.count { throw DataError.noShards(spec) }
    if let m = missing.first {
        throw DataError.unreadable(m, "no such shard (\(missing.count) of \(paths.count) listed shards are missing)")
    }
    return paths
}

/// Sample counts declared beside shards (`sizes.json`: {"shard.tar": n}, or `_stats.json` with
/// per-shard `successes`/`count`), when present. Keys are shard file names.
public func declaredShardSizes(directory: String) -> [String: Int] {
    var out: [String: Int] = [:]
    let sizes = (directory as NSString).appendingPathComponent("sizes.json")
    if let members = (try? JSONValue.read(sizes))?.members {
        for m in members { if let n = m.value.integer { out[(m.key as NSString).lastPathComponent] = n } }
    }
    if let files = try? FileManager.default.contentsOfDirectory(atPath: directory) {
        for f in files where f.hasSuffix("_stats.json") {
            let path = (directory as NSString).appendingPathComponent(f)
            guard let obj = try? JSONValue.read(path) else { continue }
            let n = obj["successes"]?.integer ?? obj["count"]?.integer
            let shard = String(f.dropLast("_stats.json".count)) + ".tar"
            if let n, out[shard] == nil { out[shard] = n }
        }
    }
    return out
}

/// The caption candidates of a sample, as img2dataset and clip_benchmark write them: its `.txt`
/// (UTF-8), else its `.json` object's `caption`, else the strings of its `texts` list. Returns
/// the reason when there is none: invalid UTF-8 text, a `.json` that is not a JSON object, or no
/// caption at all. The candidates are untrimmed; see `usableCaption`.
public func captionCandidates(_ s: WebSample) -> Result<[String], SkipReason> {
    if let t = s.fields["txt"] {
        guard let str = String(validatingUTF8Bytes: t) else { return .failure(.invalidText) }
        return .success([str])
    }
    guard let j = s.fields["json"] else { return .failure(.missingCaption) }
    guard let obj = try? JSONValue.parse(Data(j)), obj.members != nil else { return .failure(.invalidJSON) }
    if let caption = obj["caption"]?.string { return .success([caption]) }
    let texts = obj["texts"]?.elements?.compactMap(\.string) ?? []
    return texts.isEmpty ? .failure(.missingCaption) : .success(texts)
}

/// `text` with surrounding whitespace trimmed, or `.emptyCaption` when nothing is left.
public func usableCaption(_ text: String) -> Result<String, SkipReason> {
    let c = text.trimmingCharacters(in: .whitespacesAndNewlines)
    return c.isEmpty ? .failure(.emptyCaption) : .success(c)
}

/// The caption a training sample uses: one of `captionCandidates`, chosen by `rng` when the
/// `.json` lists several `texts`, trimmed (see `usableCaption`).
public func sampleCaption(_ s: WebSample, rng: inout SeededRNG) -> Result<String, SkipReason> {
    captionCandidates(s).flatMap { texts in usableCaption(texts.count == 1 ? texts[0] : texts[rng.nextInt(texts.count)]) }
}

/// The caption embedded for clustering, chosen deterministically: the first of
/// `captionCandidates`, trimmed, with line breaks replaced by spaces (feature files store
/// captions one per line).
public func embeddingCaption(_ s: WebSample) -> Result<String, SkipReason> {
    captionCandidates(s).flatMap { usableCaption($0[0]) }.map { c in
        c.contains(where: \.isNewline) ? String(c.map { $0.isNewline ? " " : $0 }) : c
    }
}

/// The image bytes of a sample and their extension, trying `jpg`, `jpeg`, `png`, `webp` in turn.
public func sampleImage(_ s: WebSample) -> (ext: String, bytes: [UInt8])? {
    for ext in ["jpg", "jpeg", "png", "webp"] { if let b = s.fields[ext] { return (ext, b) } }
    return nil
}

extension String {
    /// Decodes UTF-8, returning nil (instead of repairing) when the bytes are not valid UTF-8.
    public init?(validatingUTF8Bytes bytes: [UInt8]) {
        var it = bytes.makeIterator()
        var utf8 = UTF8()
        var scalars = String.UnicodeScalarView()
        loop: while true {
            switch utf8.decode(&it) {
            case .scalarValue(let v): scalars.append(v)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(scalars)
    }
}
