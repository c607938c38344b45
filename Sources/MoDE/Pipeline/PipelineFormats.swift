import Foundation
import MoDEFormats

// The pipeline's own file formats: the metadata of the per-shard safetensors files (caption
// features, assignments) and counts.json. Each type is shared by the writer and the reader.

/// The metadata of a caption feature file (`mode embed --shards`, FEATDIR/<stem>.safetensors).
public struct FeatureFileMetadata: Equatable, Sendable {
    public static let format = "mode-caption-features"
    public static let formatVersion = 1

    /// The shard the features came from, as given to `mode embed`.
    public var shard: String
    /// The caption encoder (its directory) and pooling.
    public var model: String
    public var pooling: String
    public var dimension: Int
    public var count: Int
    /// Samples of the shard that were not embedded, by reason.
    public var skipped: [String: Int]

    public init(shard: String, model: String, pooling: String, dimension: Int, count: Int, skipped: [String: Int]) {
        self.shard = shard
        self.model = model
        self.pooling = pooling
        self.dimension = dimension
        self.count = count
        self.skipped = skipped
    }

    /// The safetensors metadata.
    public var metadata: [String: String] {
        let skippedText = (try? JSONFile.data(skipped, pretty: false)).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .newlines) } ?? "{}"
        return ["format": Self.format, "format_version": String(Self.formatVersion), "shard": shard, "model": model,
                "pooling": pooling, "dimension": String(dimension), "count": String(count), "skipped": skippedText]
    }

    /// Reads the metadata of `path`; throws naming the file when it is not a caption feature
    /// file of this format version.
    public init(metadata m: [String: String], path: String) throws {
        guard m["format"] == Self.format else {
            throw PipelineError.badFile(path: path, reason: "not a caption feature file (metadata format is \(m["format"].map { "\"\($0)\"" } ?? "missing"), expected \"\(Self.format)\")")
        }
        try JSONFile.checkVersion(m["format_version"], expected: Self.formatVersion, format: "caption feature file", path: path)
        guard let shard = m["shard"], let model = m["model"], let pooling = m["pooling"],
              let dimension = m["dimension"].flatMap(Int.init), let count = m["count"].flatMap(Int.init) else {
            throw PipelineError.badFile(path: path, reason: "incomplete metadata (shard, model, pooling, dimension and count are required)")
        }
        var skipped: [String: Int] = [:]
        if let text = m["skipped"] {
            guard let members = (try? JSONValue.parse(Data(text.utf8)))?.members else {
                throw PipelineError.badFile(path: path, reason: "metadata \"skipped\" is not a JSON object of counts")
            }
            for member in members {
                guard let n = member.value.integer else { throw PipelineError.badFile(path: path, reason: "metadata \"skipped\": \(member.key) is not a count") }
                skipped[member.key] = n
            }
        }
        self.init(shard: shard, model: model, pooling: pooling, dimension: dimension, count: count, skipped: skipped)
    }
}

/// The metadata of an assignment file (`mode assign`, ASSIGNDIR/<stem>.safetensors).
public struct AssignmentMetadata: Equatable, Sendable {
    public static let format = "mode-assignment"
    public static let formatVersion = 1

    public var shard: String
    /// The feature file and the clusters file the assignment was made from.
    public var features: String
    public var clusters: String
    /// Fine centres m and coarse clusters n of the clustering.
    public var fine: Int
    public var coarse: Int
    /// Identifies the fine centres, so assignments survive a coarse split but not a new fine clustering.
    public var fineCentresHash: String
    public var count: Int

    public init(shard: String, features: String, clusters: String, fine: Int, coarse: Int, fineCentresHash: String, count: Int) {
        self.shard = shard
        self.features = features
        self.clusters = clusters
        self.fine = fine
        self.coarse = coarse
        self.fineCentresHash = fineCentresHash
        self.count = count
    }

    public var metadata: [String: String] {
        ["format": Self.format, "format_version": String(Self.formatVersion), "shard": shard, "features": features, "clusters": clusters,
         "fine": String(fine), "coarse": String(coarse), "fine_centres_hash": fineCentresHash, "count": String(count)]
    }

    /// Reads the metadata of `path`; throws naming the file when it is not an assignment file of
    /// this format version.
    public init(metadata m: [String: String], path: String) throws {
        guard m["format"] == Self.format else {
            throw PipelineError.badFile(path: path, reason: "not an assignment file (metadata format is \(m["format"].map { "\"\($0)\"" } ?? "missing"), expected \"\(Self.format)\")")
        }
        try JSONFile.checkVersion(m["format_version"], expected: Self.formatVersion, format: "assignment file", path: path)
        guard let shard = m["shard"], let features = m["features"], let clusters = m["clusters"], let fine = m["fine"].flatMap(Int.init),
              let coarse = m["coarse"].flatMap(Int.init), let hash = m["fine_centres_hash"], let count = m["count"].flatMap(Int.init) else {
            throw PipelineError.badFile(path: path, reason: "incomplete metadata (shard, features, clusters, fine, coarse, fine_centres_hash and count are required)")
        }
        self.init(shard: shard, features: features, clusters: clusters, fine: fine, coarse: coarse, fineCentresHash: hash, count: count)
    }
}

/// counts.json of an assignment folder: samples per fine centre and per coarse cluster (expert)
/// over every assignment file in the folder.
public struct AssignmentCounts: VersionedFile, Equatable, Sendable {
    public static let formatName = "assignment counts (counts.json)"
    public static let formatVersion = 1

    public var total: Int
    public var files: Int
    public var fine: Int
    public var coarse: Int
    /// The clusters file the assignments were checked against.
    public var clusters: String
    public var perCoarse: [Int]
    public var perFine: [Int]

    public init(total: Int, files: Int, fine: Int, coarse: Int, clusters: String, perCoarse: [Int], perFine: [Int]) {
        self.total = total
        self.files = files
        self.fine = fine
        self.coarse = coarse
        self.clusters = clusters
        self.perCoarse = perCoarse
        self.perFine = perFine
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", total, files, fine, coarse, clusters, perCoarse = "per_coarse", perFine = "per_fine"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(total: try c.decode(Int.self, forKey: .total), files: try c.decode(Int.self, forKey: .files),
                  fine: try c.decode(Int.self, forKey: .fine), coarse: try c.decode(Int.self, forKey: .coarse),
                  clusters: try c.decode(String.self, forKey: .clusters), perCoarse: try c.decode([Int].self, forKey: .perCoarse),
                  perFine: try c.decode([Int].self, forKey: .perFine))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encode(total, forKey: .total)
        try c.encode(files, forKey: .files)
        try c.encode(fine, forKey: .fine)
        try c.encode(coarse, forKey: .coarse)
        try c.encode(clusters, forKey: .clusters)
        try c.encode(perCoarse, forKey: .perCoarse)
        try c.encode(perFine, forKey: .perFine)
    }
}
