import Foundation
import MoDE

/// The serving engine, free of HTTP: validates requests, routes label sets (class embeddings
/// from an LRU cache), batches images of concurrent requests through one worker, and ensembles
/// as `ClassifyRun` does, so a served answer equals `mode classify`'s on the same images.
public final class ServeEngine: @unchecked Sendable {
    public let models: ServeModels
    public let config: ServeConfig
    let batcher: ImageBatcher
    let cache: ClassCache

    public init(models: ServeModels, config: ServeConfig) throws {
        try config.validate()
        self.models = models
        self.config = config
        batcher = ImageBatcher(models: models, maxBatch: config.maxBatch, maxQueue: config.maxQueue, batchWaitMs: config.batchWaitMs)
        cache = ClassCache(capacity: config.cacheEntries)
    }

    deinit { batcher.stop() }

    /// Images waiting for the batching worker.
    public var queueDepth: Int { batcher.depth }
    /// Class-embedding cache hits and misses so far.
    public var cacheStats: (hits: Int, misses: Int) { (cache.hits, cache.misses) }

    /// The experts run for `labels` × `templates` and their weights: the routed weights of the
    /// experts above 0, limited to the `topExperts` highest (ties: the lower index) and
    /// renormalised; one checkpoint: itself, weight 1.
    public func route(labels: [String], templates: [String]?, method: RoutingMethod?) throws -> RoutingAnswer {
        let (_, chosen, weights) = try routing(labels: labels, templates: templates, method: method)
        return RoutingAnswer(experts: chosen.map { models.experts[$0].name }, weights: weights)
    }

    func routing(labels: [String], templates: [String]?, method: RoutingMethod?) throws -> (ClassCache.Entry, [Int], [Double]) {
        let templates = templates ?? PromptTemplates.openAI
        try Self.validate(labels: labels, templates: templates)
        let entry = cache.entry(labels: labels, templates: templates) { key in
            ClassCache.Entry(key: key, routing: models.withEncoder {
                ClassEmbedding.embed(classNames: key.labels, templates: key.templates, encoder: $0)
            })
        }
        guard let classes = entry.routing, let router = models.routers[method ?? .paper] else { return (entry, [0], [1]) }
        let (chosen, weights) = select(try router.route(classes).weights)
        return (entry, chosen, weights)
    }

    /// The experts of weight above 0, at most `topExperts` of the highest, with their weights
    /// renormalised when some were dropped (`SparseEnsemble.keepTop`, as `mode classify --top-experts`).
    func select(_ weights: [Double]) -> ([Int], [Double]) {
        let kept = config.topExperts.map { SparseEnsemble.keepTop(weights, k: $0) } ?? weights
        let chosen = kept.indices.filter { kept[$0] > 0 }
        return (chosen, chosen.map { kept[$0] })
    }

    /// Zero-shot classification of `body.images` against `body.labels`.
    public func classify(_ body: ClassifyBody) async throws -> ClassifyAnswer {
        let topK = body.topK ?? 5
        guard topK > 0 else { throw ServeError.badRequest("top_k: must be positive, got \(topK)") }
        let images = try Self.decode(body.images)
        let (entry, chosen, weights) = try routing(labels: body.labels, templates: body.templates, method: body.routing)
        let texts = chosen.map { entry.classifier($0, models: models) }
        let features = try await encode(images, experts: chosen)
        let data = EnsembleTaskData(task: "serve", kind: .classification, classNames: body.labels, templates: entry.key.templates,
                                    imageCount: images.count,
                                    members: chosen.indices.map { MemberFeatures(member: models.experts[chosen[$0]].name, images: features[chosen[$0]]!, texts: texts[$0]) })
        let logits = EnsembleScoring.classificationLogits(data, weights: weights)
        let top = ClassifyRun.top(logits: logits, labels: body.labels, paths: images.indices.map(String.init), k: topK)
        return ClassifyAnswer(results: top.map { .init(top: $0.top) },
                              routing: RoutingAnswer(experts: chosen.map { models.experts[$0].name }, weights: weights))
    }

    /// Unit text features of each expert, or each text's routed weighted sum of them (each
    /// text its own task, as `mode search` routes queries).
    public func embedText(_ body: EmbedTextBody) throws -> EmbedAnswer {
        guard !body.texts.isEmpty else { throw ServeError.badRequest("texts: no texts given") }
        let all = models.experts.indices.map { e in
            models.withModel(e) { model in
                CLIPTextEncoder(tokenizer: models.tokenizer, model: model).features(body.texts, model: model, batch: 64, normalise: true)
            }
        }
        guard body.ensemble == true else {
            return EmbedAnswer(experts: all.indices.map { ExpertFeatures(name: models.experts[$0].name, features: Self.rows(all[$0])) })
        }
        var rows = [[Double]](repeating: [1], count: body.texts.count)
        if let router = models.routers[body.routing ?? .paper], let queries = models.withEncoder({ $0.embed(body.texts) }) {
            rows = try router.routeEach(queries).map { w in
                let (chosen, sel) = select(w)
                var full = [Double](repeating: 0, count: w.count)
                for (i, e) in chosen.enumerated() { full[e] = sel[i] }
                return full
            }
        }
        let dim = all[0].shape[1]
        let mixed = rows.indices.map { t in
            (0..<dim).map { j in Float(all.indices.reduce(0.0) { $0 + rows[t][$1] * Double(all[$1].data[t * dim + j]) }) }
        }
        return EmbedAnswer(features: mixed, weights: rows)
    }

    /// Unit image features of each expert, or their weighted sum with the routing weights of
    /// `body.labels` (no labels: every expert weighted alike).
    public func embedImage(_ body: EmbedImageBody) async throws -> EmbedAnswer {
        let images = try Self.decode(body.images)
        var chosen = Array(models.experts.indices)
        var weights = chosen.map { _ in 1 / Double(models.experts.count) }
        if let labels = body.labels { (_, chosen, weights) = try routing(labels: labels, templates: body.templates, method: body.routing) }
        let features = try await encode(images, experts: chosen)
        let routing = RoutingAnswer(experts: chosen.map { models.experts[$0].name }, weights: weights)
        guard body.ensemble == true else {
            return EmbedAnswer(experts: chosen.map { ExpertFeatures(name: models.experts[$0].name, features: Self.rows(features[$0]!)) }, routing: routing)
        }
        let dim = features[chosen[0]]!.shape[1]
        let mixed = images.indices.map { r in
            (0..<dim).map { j in Float(chosen.indices.reduce(0.0) { $0 + weights[$1] * Double(features[chosen[$1]]!.data[r * dim + j]) }) }
        }
        return EmbedAnswer(features: mixed, routing: routing)
    }

    /// Preprocesses `images` at each image size the experts need and runs them through the batcher.
    func encode(_ images: [RGBImage], experts: [Int]) async throws -> [Int: Tensor] {
        var pixels: [Int: [Float]] = [:]
        for s in Set(experts.map { models.experts[$0].model.config.vision.imageSize }) {
            let pre = CLIPPreprocessor(size: s)
            var out = [Float](repeating: 0, count: images.count * 3 * s * s)
            out.withUnsafeMutableBufferPointer { p in
                for (i, image) in images.enumerated() { pre.eval(p.baseAddress! + i * 3 * s * s, image) }
            }
            pixels[s] = out
        }
        return try await batcher.encode(count: images.count, pixels: pixels, experts: experts)
    }

    /// Decodes base64 image files; an error names the image and the problem.
    static func decode(_ images: [String]) throws -> [RGBImage] {
        guard !images.isEmpty else { throw ServeError.badRequest("images: no images given") }
        return try images.enumerated().map { i, text in
            guard let data = Data(base64Encoded: text) else { throw ServeError.badRequest("images[\(i)]: not valid base64") }
            do {
                return try decodeImage([UInt8](data))
            } catch {
                throw ServeError.badRequest("images[\(i)]: not a readable image (\(error))")
            }
        }
    }

    static func validate(labels: [String], templates: [String]) throws {
        guard !labels.isEmpty else { throw ServeError.badRequest("labels: no labels given") }
        if let i = labels.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ServeError.badRequest("labels[\(i)]: empty label")
        }
        var seen = Set<String>()
        for l in labels where !seen.insert(l).inserted { throw ServeError.badRequest("labels: label \"\(l)\" is given twice") }
        guard !templates.isEmpty else { throw ServeError.badRequest("templates: no templates given") }
        if let bad = templates.first(where: { !$0.contains("{c}") }) { throw ServeError.badRequest("templates: template without {c}: \(bad)") }
    }

    static func rows(_ t: Tensor) -> [[Float]] {
        let d = t.shape[1]
        return (0..<t.shape[0]).map { r in Array(UnsafeBufferPointer(start: t.data + r * d, count: d)) }
    }
}
