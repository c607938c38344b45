import Foundation
import MoDEFormats
import MoDEModels
import MoDETensor
import MoDETokenizers

/// `INDEX/index.json`: what `mode index` stored — the experts manifest it used, the images (row
/// order of every feature file), and one feature file per expert.
public struct ImageIndexManifest: VersionedFile, Sendable, Equatable {
    public static let formatName = "image index"
    public static let formatVersion = 1

    /// The experts manifest, absolute.
    public var experts: String
    /// Expert names, in manifest order.
    public var expertNames: [String]
    /// Per expert: its feature file (`features` (images, E), L2-normalised rows), relative to the index folder.
    public var featureFiles: [String]
    /// The indexed images (file paths, or SHARD/KEY.EXT), in row order.
    public var images: [String]
    public var skipped: [SkippedImage]
    public var dim: Int

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", experts, expertNames = "expert_names", featureFiles = "feature_files", images, skipped, dim
    }

    public init(experts: String, expertNames: [String], featureFiles: [String], images: [String], skipped: [SkippedImage], dim: Int) {
        self.experts = experts; self.expertNames = expertNames; self.featureFiles = featureFiles
        self.images = images; self.skipped = skipped; self.dim = dim
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        experts = try c.decode(String.self, forKey: .experts)
        expertNames = try c.decode([String].self, forKey: .expertNames)
        featureFiles = try c.decode([String].self, forKey: .featureFiles)
        images = try c.decode([String].self, forKey: .images)
        skipped = try c.decode([SkippedImage].self, forKey: .skipped)
        dim = try c.decode(Int.self, forKey: .dim)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encode(experts, forKey: .experts)
        try c.encode(expertNames, forKey: .expertNames)
        try c.encode(featureFiles, forKey: .featureFiles)
        try c.encode(images, forKey: .images)
        try c.encode(skipped, forKey: .skipped)
        try c.encode(dim, forKey: .dim)
    }

    public static let fileName = "index.json"
    /// The tensor of each feature file.
    public static let featuresTensor = "features"
}

/// One image found by a query, and its ensembled score.
public struct SearchHit: Codable, Sendable, Equatable {
    public var path: String
    public var score: Double
}

/// The results of one query: its routing weights over the experts and the best images.
public struct SearchResult: Codable, Sendable, Equatable {
    public var query: String
    public var weights: [Double]
    public var hits: [SearchHit]
}

/// `mode index` and `mode search`: every expert's normalised image features stored once, then
/// text→image retrieval as the method routes it — each query routed on its own by its caption
/// embedding (`Router.routeEach`, |L| = 1) and images ranked by Σ_e w_e(q) · cos_e(q, image)
/// (`EnsembleScoring.retrievalScores` with per-query weights, as ensemble evaluation scores
/// text→image retrieval).
public enum ImageIndex {
    /// Encodes `paths` with every expert of the manifest at `experts` and writes the index into
    /// folder `out` (feature files, then index.json; each atomically). `events` follows each
    /// expert's image pass (skipped images are reported once).
    public static func build(paths: [String], experts: String, out: String, batch: Int = 32,
                             events: (String, ImageFeaturePass.Event) -> Void = { _, _ in }) throws -> ImageIndexManifest {
        guard batch > 0 else { throw InferenceError.invalid("--batch", "must be positive") }
        let inputs = try InferenceInputs.expand(paths)
        let manifest = try ExpertManifest.load(experts)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var names: [String]?, skipped: [SkippedImage] = [], files: [String] = [], dim = 0
        for (i, e) in manifest.experts.enumerated() {
            let model = try CheckpointStore.loadModel(e.checkpoint, config: e.config.isEmpty ? nil : e.config)
            let first = names == nil
            let (n, f) = try ImageFeaturePass.run(model: model, inputs: inputs, batch: batch, normalise: true) { ev in
                if case .skipped(let s) = ev { if first { skipped.append(s); events(e.name, ev) }; return }
                events(e.name, ev)
            }
            if let names {
                guard names == n else { throw EnsembleError.inconsistentImages(task: "index", member: e.name) }
                guard dim == model.embedDim else { throw EnsembleError.dimensionMismatch(file: e.checkpoint, dim: model.embedDim, expected: dim, reference: manifest.experts[0].checkpoint) }
            } else {
                guard !n.isEmpty else { throw InferenceError.invalid(paths.joined(separator: " "), "no readable image (\(skipped.count) skipped)") }
                names = n
                dim = model.embedDim
            }
            let file = "expert-\(i).safetensors"
            var w = SafeTensorsWriter()
            w.add(ImageIndexManifest.featuresTensor, f)
            try w.write(to: (out as NSString).appendingPathComponent(file), metadata: ["format": "mode-image-index", "format_version": "1", "expert": e.name])
            files.append(file)
        }
        let index = ImageIndexManifest(experts: ExpertManifest.absolute(experts), expertNames: manifest.experts.map(\.name),
                                       featureFiles: files, images: names ?? [], skipped: skipped, dim: dim)
        try JSONFile.write(index, to: (out as NSString).appendingPathComponent(ImageIndexManifest.fileName))
        return index
    }

    /// Ranks the indexed images for each of `queries` (see the type's description); the `topK`
    /// best per query, best first (ties: the earlier image).
    public static func search(index folder: String, queries: [String], topK: Int = 10, routing: RoutingOptions = RoutingOptions(),
                              batch: Int = 64) throws -> [SearchResult] {
        guard !queries.isEmpty else { throw InferenceError.invalid("--query", "no query given") }
        guard topK > 0 else { throw InferenceError.invalid("--top-k", "must be positive") }
        let path = (folder as NSString).appendingPathComponent(ImageIndexManifest.fileName)
        let index = try JSONFile.read(ImageIndexManifest.self, from: path)
        let manifest = try ExpertManifest.load(index.experts)
        guard manifest.experts.map(\.name) == index.expertNames else {
            throw InferenceError.invalid(path, "the experts of \(index.experts) changed since the index was built; build it again")
        }
        let router = try manifest.router(options: routing)
        let encoder = try SentenceEncoder(directory: manifest.embedder)
        let perQuery = try router.routeEach(encoder.embed(queries, batchSize: batch))
        let tokenizer = try CLIPTokenizer()
        let n = index.images.count
        var members: [MemberFeatures] = []
        for (e, entry) in manifest.experts.enumerated() {
            // Experts no query weighs are not loaded; their features stay zero-weighted placeholders.
            guard perQuery.contains(where: { $0[e] > 0 }) else {
                members.append(MemberFeatures(member: entry.name, images: Tensor(shape: [n, index.dim]), texts: Tensor(shape: [queries.count, index.dim])))
                continue
            }
            let images = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent(index.featureFiles[e])).tensor(ImageIndexManifest.featuresTensor)
            guard images.shape == [n, index.dim] else {
                throw InferenceError.invalid(index.featureFiles[e], "features of shape \(images.shape), expected [\(n), \(index.dim)]")
            }
            let model = try CheckpointStore.loadModel(entry.checkpoint, config: entry.config.isEmpty ? nil : entry.config)
            let texts = CLIPTextEncoder(tokenizer: tokenizer, model: model).features(queries, model: model, batch: batch, normalise: true)
            members.append(MemberFeatures(member: entry.name, images: images, texts: texts))
        }
        let data = EnsembleTaskData(task: "search", kind: .retrieval, captions: queries, owner: [Int](repeating: 0, count: queries.count),
                                    imageCount: n, members: members)
        let scores = EnsembleScoring.retrievalScores(data, weights: perQuery[0], perQuery: perQuery)
        let k = min(topK, n)
        var top = [Int32](repeating: 0, count: queries.count * k)
        top.withUnsafeMutableBufferPointer { Reduce.topKRows($0.baseAddress!, scores.data, rows: queries.count, cols: n, k: k) }
        return queries.indices.map { q in
            SearchResult(query: queries[q], weights: perQuery[q], hits: (0..<k).map { j in
                let i = Int(top[q * k + j])
                return SearchHit(path: index.images[i], score: Double(scores.data[q * n + i]))
            })
        }
    }
}
