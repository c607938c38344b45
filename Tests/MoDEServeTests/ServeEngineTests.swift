import Foundation
import MoDE
import Testing
import TestSupport
@testable import MoDEServe

/// The serving engine without HTTP: the class-embedding cache, sparse ensembles and embeddings,
/// checked against the library's own routing, `ClassifyRun` and the encoders.
@Suite struct ServeEngineTests {
    @Test func theClassCacheKeepsTheMostRecentlyUsedLabelSets() throws {
        let dir = try TempDirectory()
        let e = try engine(.experts(try twoExpertManifest(dir)), cache: 2)
        let t = PromptTemplates.simple
        let first = try e.route(labels: ["cat", "dog"], templates: t, method: .paper)
        #expect(e.cacheStats == (0, 1))
        #expect(try e.route(labels: ["cat", "dog"], templates: t, method: .paper) == first)
        #expect(e.cacheStats == (1, 1))
        // Another method reuses the embeddings; other templates or another order are other keys.
        _ = try e.route(labels: ["cat", "dog"], templates: t, method: .uniform)
        #expect(e.cacheStats == (2, 1))
        _ = try e.route(labels: ["dog", "cat"], templates: t, method: .paper)
        #expect(e.cacheStats == (2, 2) && e.cache.count == 2)
        // Touch ["cat", "dog"], then a third set evicts ["dog", "cat"], the least recently used.
        _ = try e.route(labels: ["cat", "dog"], templates: t, method: .paper)
        _ = try e.route(labels: ["car"], templates: t, method: .paper)
        #expect(e.cacheStats == (3, 3) && e.cache.count == 2)
        _ = try e.route(labels: ["cat", "dog"], templates: t, method: .paper)
        #expect(e.cacheStats == (4, 3))
        _ = try e.route(labels: ["dog", "cat"], templates: t, method: .paper)
        #expect(e.cacheStats == (4, 4))
    }

    @Test func routingWeightsAreModeRoutes() throws {
        let dir = try TempDirectory()
        let manifest = try twoExpertManifest(dir)
        let e = try engine(.experts(manifest))
        let encoder = try SentenceEncoder(directory: fixturePath("MoDEModelsTests", "tiny_bert"))
        let labels = ["cat", "dog", "car"]
        for method in RoutingMethod.allCases {
            let expected = try ExpertManifest.load(manifest).router(options: RoutingOptions(method: method))
                .route(ClassEmbedding.embed(classNames: labels, templates: PromptTemplates.openAI, encoder: encoder)).weights
            let served = try e.route(labels: labels, templates: nil, method: method)
            #expect(served.experts == ["a", "b"] && served.weights == expected)
        }
    }

    @Test func topExpertsRunsTheHeaviestAloneAsItsOwnCheckpoint() async throws {
        let dir = try TempDirectory()
        let manifest = try twoExpertManifest(dir)
        let files = try imageFiles(dir, count: 3)
        let labels = ["cat", "dog", "car", "tree"]
        let full = try engine(.experts(manifest)).route(labels: labels, templates: PromptTemplates.simple, method: .paper)
        let heavy = full.weights[0] >= full.weights[1] ? "a" : "b"
        let sparse = try engine(.experts(manifest), topExperts: 1)
        let answer = try await sparse.classify(ClassifyBody(images: try files.map(base64), labels: labels, templates: PromptTemplates.simple))
        #expect(answer.routing == RoutingAnswer(experts: [heavy], weights: [1]))
        var request = ClassifyRequest(model: .checkpoint(dir.file(heavy), config: nil), labels: labels, templates: PromptTemplates.simple, paths: files)
        request.topK = 5
        let expected = try ClassifyRun.run(request).predictions
        for (s, x) in zip(answer.results, expected) {
            #expect(s.top.map(\.label) == x.top.map(\.label))
            for (p, q) in zip(s.top, x.top) { #expect(abs(p.probability - q.probability) <= 1e-6) }
        }
        // Renormalised over the kept experts (a hand example: 0.5, 0.3, 0.2 with K = 2).
        var config = ServeConfig(source: .experts(manifest))
        config.topExperts = 2
        let three = try ServeEngine(models: sparse.models, config: config)
        let (chosen, w) = three.select([0.3, 0.5, 0.2])
        #expect(chosen == [0, 1] && abs(w[0] - 0.375) < 1e-12 && abs(w[1] - 0.625) < 1e-12)
        #expect(three.select([0, 1, 0]).0 == [1])
    }

    @Test func embeddingsAreTheEncodersUnitFeatures() async throws {
        let dir = try TempDirectory()
        let manifest = try twoExpertManifest(dir)
        let files = try imageFiles(dir, count: 3)
        let e = try engine(.experts(manifest))
        let tokenizer = try CLIPTokenizer()
        let models = try ["a", "b"].map { try CheckpointStore.loadModel(dir.file($0), config: nil) }
        let texts = ["a photo of a cat", "a red car"]
        let perExpert = try e.embedText(try JSONDecoder().decode(EmbedTextBody.self, from: Data(#"{"texts": ["a photo of a cat", "a red car"]}"#.utf8)))
        #expect(perExpert.experts?.map(\.name) == ["a", "b"])
        for (m, served) in zip(models, perExpert.experts!) {
            let f = CLIPTextEncoder(tokenizer: tokenizer, model: m).features(texts, model: m, batch: 1, normalise: true)
            for (r, row) in served.features.enumerated() {
                for (j, v) in row.enumerated() { #expect(abs(v - f.data[r * 16 + j]) < 1e-6) }
            }
        }
        let mixed = try e.embedText(try JSONDecoder().decode(EmbedTextBody.self, from: Data(#"{"texts": ["a photo of a cat", "a red car"], "ensemble": true}"#.utf8)))
        let encoder = try SentenceEncoder(directory: fixturePath("MoDEModelsTests", "tiny_bert"))
        let rows = try ExpertManifest.load(manifest).router(options: RoutingOptions()).routeEach(encoder.embed(texts))
        #expect(mixed.weights == rows)
        for t in 0..<2 {
            for j in 0..<16 {
                let v = (0..<2).reduce(0.0) { $0 + rows[t][$1] * Double(perExpert.experts![$1].features[t][j]) }
                #expect(abs(Double(mixed.features![t][j]) - v) < 1e-6)
            }
        }
        let body = try JSONDecoder().decode(EmbedImageBody.self, from: JSONSerialization.data(withJSONObject: ["images": try files.map(base64)]))
        let images = try await e.embedImage(body)
        #expect(images.routing == RoutingAnswer(experts: ["a", "b"], weights: [0.5, 0.5]))
        for (m, served) in zip(models, images.experts!) {
            let (_, f) = try ImageFeaturePass.run(model: m, inputs: files.map { ImageInput.file($0) }, batch: 2, normalise: true)
            for (r, row) in served.features.enumerated() {
                for (j, v) in row.enumerated() { #expect(abs(v - f.data[r * 16 + j]) < 1e-6) }
            }
        }
    }
}
