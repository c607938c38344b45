import MoDEClustering
import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import MoDEFormats

/// One data expert: a trained CLIP checkpoint and the fine centres whose data it was trained on.
public struct ExpertEntry: Codable, Sendable, Equatable {
    public var name: String
    /// model.safetensors path (resolved from a run/checkpoint folder).
    public var checkpoint: String
    /// open_clip_config.json path or preset name.
    public var config: String
    /// Fine centres covered.
    public var fine: [Int32]
    /// Coarse cluster id, if any.
    public var coarse: Int?
    /// Training samples of its run (step × batch; the seed's own samples not included).
    public var samplesSeen: Int
    /// The seed checkpoint it started from.
    public var seed: String?
    /// The run folder it came from.
    public var run: String?
    /// The clusters file its `fine` and `coarse` come from, when it is not the manifest's own but
    /// one with the same fine centres (`mode cluster --split` keeps them); nil = the manifest's.
    public var clusters: String?

    /// An entry; paths absolute or relative to the working directory.
    public init(name: String, checkpoint: String, config: String, fine: [Int32], coarse: Int? = nil,
                samplesSeen: Int = 0, seed: String? = nil, run: String? = nil, clusters: String? = nil) {
        self.clusters = clusters
        self.name = name
        self.checkpoint = checkpoint
        self.config = config
        self.fine = fine
        self.coarse = coarse
        self.samplesSeen = samplesSeen
        self.seed = seed
        self.run = run
    }

    enum CodingKeys: String, CodingKey {
        case name, checkpoint, config, fine, coarse, samplesSeen = "samples_seen", seed, run, clusters
    }
}

/// A manifest problem, naming the file at fault.
public enum ExpertManifestError: Error, CustomStringConvertible, Equatable {
    /// `path` cannot be read or parsed.
    case unreadable(path: String, reason: String)
    /// The manifest at `path` is readable but inconsistent (an expert, a referenced file…).
    case invalid(path: String, reason: String)
    /// A run folder that cannot be turned into an expert.
    case badRun(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read expert manifest: \(reason)"
        case let .invalid(path, reason): return "\(path): \(reason)"
        case let .badRun(path, reason): return "\(path): \(reason)"
        }
    }
}

/// experts.json: the clusters the experts were trained on, the caption encoder used for the
/// clustering, and the experts. Paths inside the file are relative to the file's folder when
/// they lie inside it (or below), otherwise absolute; `load` resolves them, `save` writes them
/// back that way, so a folder holding the manifest and its experts can be moved as a whole.
public struct ExpertManifest: VersionedFile, Sendable, Equatable {
    public static let formatName = "experts manifest"
    public static let formatVersion = 1

    /// clusters.safetensors path (its fine centres are the routing centres).
    public var clusters: String
    /// Caption encoder directory used for clustering (and so for routing).
    public var embedder: String
    public var experts: [ExpertEntry]

    /// A manifest with absolute (or working-directory-relative) paths.
    public init(clusters: String, embedder: String, experts: [ExpertEntry] = []) {
        self.clusters = clusters
        self.embedder = embedder
        self.experts = experts
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clusters = try c.decode(String.self, forKey: .clusters)
        embedder = try c.decode(String.self, forKey: .embedder)
        experts = try c.decode([ExpertEntry].self, forKey: .experts)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encode(clusters, forKey: .clusters)
        try c.encode(embedder, forKey: .embedder)
        try c.encode(experts, forKey: .experts)
    }

    enum CodingKeys: String, CodingKey { case formatVersion = "format_version", clusters, embedder, experts }

    // MARK: Reading and writing

    /// Reads `path`, resolves its paths, and validates it (see `validate`). Errors name the file.
    public static func load(_ path: String) throws -> ExpertManifest {
        let m = try read(path)
        try m.validate(manifestPath: path)
        return m
    }

    /// Reads `path` and resolves its paths, without checking the files they name.
    public static func read(_ path: String) throws -> ExpertManifest {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExpertManifestError.unreadable(path: path, reason: "no such file or not readable")
        }
        var m: ExpertManifest
        do { m = try JSONFile.read(ExpertManifest.self, from: path) } catch let e as FormatError {
            throw ExpertManifestError.unreadable(path: path, reason: e.reason)
        }
        let base = folder(of: path)
        m.clusters = resolve(m.clusters, base: base)
        m.embedder = resolve(m.embedder, base: base)
        for i in m.experts.indices {
            m.experts[i].checkpoint = resolve(m.experts[i].checkpoint, base: base)
            m.experts[i].config = resolveConfig(m.experts[i].config, base: base)
            m.experts[i].run = m.experts[i].run.map { resolve($0, base: base) }
            m.experts[i].clusters = m.experts[i].clusters.map { resolve($0, base: base) }
        }
        return m
    }

    /// Writes the manifest to `path` atomically (pretty JSON, sorted keys), with paths inside
    /// the file's folder stored relative to it and the others absolute.
    public func save(_ path: String) throws {
        let base = Self.folder(of: path)
        var m = self
        m.clusters = Self.relativise(clusters, base: base)
        m.embedder = Self.relativise(embedder, base: base)
        for i in m.experts.indices {
            m.experts[i].checkpoint = Self.relativise(m.experts[i].checkpoint, base: base)
            if !Self.isPreset(m.experts[i].config) { m.experts[i].config = Self.relativise(m.experts[i].config, base: base) }
            m.experts[i].run = m.experts[i].run.map { Self.relativise($0, base: base) }
            m.experts[i].clusters = m.experts[i].clusters.map { Self.relativise($0, base: base) }
        }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try JSONFile.write(m, to: path)
    }

    /// The cluster hierarchy named by `clusters`.
    public func hierarchy() throws -> ClusterHierarchy {
        do { return try ClusterHierarchy(contentsOf: clusters) } catch {
            throw ExpertManifestError.unreadable(path: clusters, reason: "cannot read the clusters file (\(error))")
        }
    }

    /// A router over the clusters file's fine centres and the experts' fine centres.
    public func router(options: RoutingOptions) throws -> Router {
        try Router(fineCentres: hierarchy().fineCentres, expertFine: experts.map(\.fine), options: options)
    }

    // MARK: Validation

    /// Checks what routing and ensembling rely on, with errors naming `manifestPath` and the
    /// expert and file at fault: the clusters file is readable; expert names are unique; every
    /// checkpoint exists; every config is readable and all share one embedding dimension; fine
    /// indices lie in 0..<m of the clusters file; the embedder's config.json hidden_size equals
    /// the centres' D (checked when the file is there; required when `requireEmbedder`).
    public func validate(manifestPath: String, requireEmbedder: Bool = false) throws {
        func fail(_ reason: String) -> ExpertManifestError { .invalid(path: manifestPath, reason: reason) }
        let h: ClusterHierarchy
        do { h = try ClusterHierarchy(contentsOf: clusters) } catch {
            throw fail("clusters file \(clusters) cannot be read: \(error)")
        }
        let m = h.fineCount, d = h.dimension
        let embedderConfig = (embedder as NSString).appendingPathComponent("config.json")
        if FileManager.default.fileExists(atPath: embedderConfig) {
            guard let hidden = (try? JSONValue.read(embedderConfig))?["hidden_size"]?.integer else {
                throw fail("embedder config \(embedderConfig) has no integer hidden_size")
            }
            guard hidden == d else {
                throw fail("embedder \(embedder) produces \(hidden)-dimensional embeddings (hidden_size in \(embedderConfig)), but the fine centres in \(clusters) are \(d)-dimensional")
            }
        } else if requireEmbedder {
            throw fail("embedder \(embedder) has no readable config.json")
        }
        var names = Set<String>()
        var splitClusters: [String: ClusterHierarchy] = [:]  // experts' own clusters files, read once
        var firstDim: (name: String, config: String, dim: Int, model: CLIPConfig)?
        for e in experts {
            guard !e.name.isEmpty else { throw fail("an expert has an empty name") }
            guard names.insert(e.name).inserted else { throw fail("expert name \"\(e.name)\" appears twice") }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: e.checkpoint, isDirectory: &isDir), !isDir.boolValue else {
                throw fail("expert \"\(e.name)\": checkpoint \(e.checkpoint) does not exist (or is a folder)")
            }
            let cfg: CLIPConfig
            do { cfg = try CLIPConfig.load(e.config) } catch {
                throw fail("expert \"\(e.name)\": config \(e.config) is not readable: \(error)")
            }
            if let f = firstDim, f.dim != cfg.embedDim {
                throw fail("expert \"\(e.name)\": config \(e.config) has embedding dimension \(cfg.embedDim), but expert \"\(f.name)\" (\(f.config)) has \(f.dim); all experts must share one")
            }
            // MoDE's experts are one architecture trained on different data; a different
            // architecture is almost always a wrong run folder.
            if let f = firstDim, f.model != cfg {
                throw fail("expert \"\(e.name)\": config \(e.config) describes another model than expert \"\(f.name)\" (\(f.config)); all experts must share one architecture")
            }
            if firstDim == nil { firstDim = (e.name, e.config, cfg.embedDim, cfg) }
            guard !e.fine.isEmpty else { throw fail("expert \"\(e.name)\" covers no fine centres") }
            if let bad = e.fine.first(where: { $0 < 0 || Int($0) >= m }) {
                throw fail("expert \"\(e.name)\": fine centre \(bad) is outside 0..<\(m), the fine centres of \(clusters)")
            }
            var own = h, ownFile = clusters
            if let other = e.clusters, other != clusters {
                if let known = splitClusters[other] { own = known } else {
                    do { own = try ClusterHierarchy(contentsOf: other) } catch {
                        throw fail("expert \"\(e.name)\": clusters file \(other) cannot be read: \(error)")
                    }
                    splitClusters[other] = own
                }
                ownFile = other
                guard own.sharesFineCentres(with: h) else {
                    throw fail("expert \"\(e.name)\": its clusters file \(other) has other fine centres than \(clusters); experts of one manifest must share the fine centres")
                }
            }
            if let c = e.coarse, c < 0 || c >= own.coarseCount {
                throw fail("expert \"\(e.name)\": coarse cluster \(c) is outside 0..<\(own.coarseCount) of \(ownFile)")
            }
            guard e.samplesSeen >= 0 else { throw fail("expert \"\(e.name)\": negative samples_seen") }
        }
    }

    /// Adds `entry`, replacing the expert of the same name (the others stay as they are), then
    /// validates the result against `manifestPath` (the embedder's config.json is required).
    public mutating func add(_ entry: ExpertEntry, manifestPath: String) throws {
        var next = self
        if let i = next.experts.firstIndex(where: { $0.name == entry.name }) {
            next.experts[i] = entry
        } else {
            next.experts.append(entry)
        }
        try next.validate(manifestPath: manifestPath, requireEmbedder: true)
        self = next
    }

    // MARK: Paths

    /// The absolute folder holding `path`.
    static func folder(of path: String) -> String {
        FilePaths.parent(absolute(path))
    }

    /// `path` made absolute against the current directory, with `.`, `..` and empty components
    /// removed lexically (symbolic links are kept as written).
    public static func absolute(_ path: String) -> String {
        let p = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return lexical(p)
    }

    /// An absolute path with `.`, `..` and empty components removed.
    static func lexical(_ path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == ".." { _ = parts.popLast(); continue }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// A stored path resolved against the manifest's folder `base`.
    static func resolve(_ stored: String, base: String) -> String {
        stored.hasPrefix("/") ? stored : lexical(base + "/" + stored)
    }

    /// A stored config: a preset name stays a name unless a file of that name lies beside the
    /// manifest.
    static func resolveConfig(_ stored: String, base: String) -> String {
        let p = resolve(stored, base: base)
        if isPreset(stored) && !FileManager.default.fileExists(atPath: p) { return stored }
        return p
    }

    static func isPreset(_ config: String) -> Bool {
        CLIPConfig.presets[config] != nil && !config.contains("/")
    }

    /// `path` relative to `base` when it lies inside it (or below), else absolute.
    static func relativise(_ path: String, base: String) -> String {
        let p = absolute(path)
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return p.hasPrefix(prefix) ? String(p.dropFirst(prefix.count)) : p
    }
}
