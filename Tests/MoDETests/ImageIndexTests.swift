import Foundation
import Testing
import TestSupport
@testable import MoDE

/// `mode index` / `mode search`: scores checked against the experts' own encoders (verified
/// against open_clip by the parity tests), cosines and the weighted sum computed here in Double.
@Suite struct ImageIndexTests {
    @Test func searchRanksImagesByTheRoutedSumOfCosines() throws {
        let dir = try TempDirectory()
        let root = try ClassifyTests().imageFolder(dir)
        let (a, b, encoder) = try twoExperts(dir)
        let index = try ImageIndex.build(paths: [root], experts: dir.file("experts.json"), out: dir.file("index"), batch: 2)
        #expect(index.images == [root + "/a.jpg", root + "/b.png", root + "/sub/c.PNG"] && index.skipped.map(\.path) == [root + "/bad.jpg"])
        #expect(try dir.contents().contains("index"))
        let queries = ["a red apple", "the night sky"]
        let results = try ImageIndex.search(index: dir.file("index"), queries: queries, topK: 2)
        let router = try ExpertManifest.load(dir.file("experts.json")).router(options: RoutingOptions())
        let tokenizer = try CLIPTokenizer()
        let models = try [a, b].map { try CheckpointStore.loadModel($0.checkpoint, config: nil) }
        func unit(_ v: [Float]) -> [Double] {
            let n = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            return v.map { Double($0) / n }
        }
        for (q, r) in zip(queries, results) {
            // Each query is routed alone (|L| = 1).
            let w = try router.route(encoder.embed([q], batchSize: 8)).weights
            #expect(zip(r.weights, w).allSatisfy { abs($0 - $1) < 1e-6 }, "\(r.weights) vs \(w)")
            var expected: [Double] = []
            for path in index.images {
                var s = 0.0
                for (m, weight) in zip(models, w) {
                    let pixels = CLIPPreprocessor(size: 32).eval(try decodeImage([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
                    let f = Tensor(shape: [1, m.embedDim]), t = Tensor(shape: [1, m.embedDim])
                    pixels.withUnsafeBufferPointer { m.encodeImage(f.data, $0.baseAddress!, batch: 1) }
                    let ids = tokenizer.tokenize(q, contextLength: m.config.text.contextLength)
                    ids.withUnsafeBufferPointer { m.encodeText(t.data, $0.baseAddress!, batch: 1) }
                    s += weight * zip(unit(f.array), unit(t.array)).reduce(0.0) { $0 + $1.0 * $1.1 }
                }
                expected.append(s)
            }
            let order = expected.indices.sorted { expected[$0] > expected[$1] }
            #expect(r.hits.map(\.path) == order.prefix(2).map { index.images[$0] })
            for h in r.hits { #expect(abs(h.score - expected[index.images.firstIndex(of: h.path)!]) < 1e-5) }
        }
    }
}
