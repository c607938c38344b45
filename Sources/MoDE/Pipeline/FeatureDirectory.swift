import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

/// Caption features of one shard, as `mode embed --shards` writes them
/// (FEATDIR/<stem>.safetensors): `features` F32 (N, D), each row L2-normalised; `keys` U8 and
/// `captions` U8, the sample keys and embedded captions, UTF-8 joined by "\n" (see `TextList`).
/// Metadata: format, shard (as given), model, pooling, dimension, count, skipped (JSON object of
/// counts per reason).
public struct FeatureFile {
    /// Tensor and metadata names.
    public enum Key {
        public static let features = "features"
        public static let keys = "keys"
        public static let captions = "captions"
    }

    public let path: String
    /// The shard the features came from, as given to `mode embed`.
    public let shard: String
    /// Sample keys (N).
    public let keys: [String]
    /// Embedded captions (N), newlines replaced by spaces.
    public let captions: [String]
    /// Features (N, D).
    public let features: Tensor
    public let metadata: FeatureFileMetadata

    /// Reads and checks one feature file (tensors present, shapes agree).
    public init(path: String) throws {
        let info = try FeatureFileInfo(path: path)
        let file = try SafeTensorsFile(path: path)
        self.path = path
        shard = info.shard
        metadata = info.metadata
        features = try file.tensor(Key.features)
        keys = try TextList.read(file, Key.keys, count: info.rows)
        captions = try TextList.read(file, Key.captions, count: info.rows)
    }
}

/// What a feature file's header says: rows, width, and its metadata (no data read).
public struct FeatureFileInfo: Sendable, Equatable {
    public let path: String
    public let rows: Int
    public let dimension: Int
    public let metadata: FeatureFileMetadata
    public var shard: String { metadata.shard }
    public var model: String { metadata.model }
    public var pooling: String { metadata.pooling }

    /// Parses the header of `path`; throws `PipelineError.badFile` naming it when `features` is
    /// missing or not a 2-D float tensor, `keys`/`captions` is missing, or the metadata is not
    /// a caption feature file's of this format version.
    public init(path: String) throws {
        let file = try SafeTensorsFile(path: path)
        metadata = try FeatureFileMetadata(metadata: file.metadata, path: path)
        guard let f = file.info(FeatureFile.Key.features) else {
            throw PipelineError.badFile(path: path, reason: "no tensor named \"features\" (not a caption feature file?)")
        }
        guard f.shape.count == 2, [.f32, .f16, .bf16, .f64].contains(f.dtype) else {
            throw PipelineError.badFile(path: path, reason: "\"features\" must be a 2-D float tensor, is \(f.dtype.rawValue) \(f.shape)")
        }
        for name in [FeatureFile.Key.keys, FeatureFile.Key.captions] where !file.contains(name) {
            throw PipelineError.badFile(path: path, reason: "no tensor named \"\(name)\"")
        }
        self.path = path
        rows = f.shape[0]
        dimension = f.shape[1]
    }
}

/// A folder of per-shard feature files (FEATDIR/*.safetensors, sorted by name; hidden
/// temporary files ignored).
public struct FeatureDirectory: Sendable {
    public let path: String
    /// Feature file paths, sorted by name.
    public let files: [String]

    /// Lists `path`; throws when it is not a directory or holds no feature files.
    public init(path: String) throws {
        self.path = path
        files = try safetensorsFiles(in: path)
        guard !files.isEmpty else { throw PipelineError.invalid("\(path) holds no .safetensors feature files") }
    }

    /// Reads one file (keys, captions, features).
    public func read(_ file: String) throws -> FeatureFile { try FeatureFile(path: file) }

    /// Header of every file, checking that all share one feature width; the error names the
    /// first file whose width differs from the first file's.
    public func infos() throws -> [FeatureFileInfo] {
        let infos = try files.map { try FeatureFileInfo(path: $0) }
        if let first = infos.first, let bad = infos.first(where: { $0.dimension != first.dimension }) {
            throw PipelineError.badFile(path: bad.path, reason: "feature width \(bad.dimension) differs from \(first.dimension) in \(first.path)")
        }
        return infos
    }

    /// The common feature width D (see `infos`).
    public func dimension() throws -> Int { try infos()[0].dimension }
}
