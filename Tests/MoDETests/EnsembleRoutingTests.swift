import Data
import Foundation
import Models
import Tensor
import Testing
import TestSupport
@testable import MoDE

@Suite struct EnsembleRoutingTests {
    /// The tiny BERT fixture of the Models tests (a caption encoder with 32-wide embeddings).
    func tinyEncoder() throws -> SentenceEncoder {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return try SentenceEncoder(directory: tests.appendingPathComponent("ModelsTests/Fixtures/tiny_bert").path)
    }

    func router(dim: Int, method: RoutingMethod) throws -> Router {
        var rng = SeededRNG(seed: 3)
        let centres = Tensor(shape: [4, dim])
        for i in 0..<centres.count { centres.data[i] = rng.nextNormal() }
        return try Router(fineCentres: centres, expertFine: [[0, 2], [1, 3]], options: RoutingOptions(method: method))
    }

    @Test func routesClassNamesAndEachCaptionOnItsOwn() throws {
        let encoder = try tinyEncoder()
        let routers = try [("paper", router(dim: encoder.dimension, method: .paper)), ("reference", router(dim: encoder.dimension, method: .reference))]
        let none = Tensor(shape: [0, 2])
        let member = MemberFeatures(member: "m", images: none, texts: none)
        let cls = EnsembleTaskData(task: "t", kind: .classification, classNames: ["cat", "dog", "car"], templates: ["a photo of a {c}.", "a {c}."],
                                   imageCount: 0, members: [member])
        let r = try Ensemble.routing(cls, routers: routers, encoder: encoder)
        #expect(r.map(\.method) == ["paper", "reference"])
        for x in r {
            // p(c|T) is a distribution over the 2 experts (sums to 1 up to rounding of Doubles)
            #expect(x.weights.count == 2 && abs(x.weights.reduce(0, +) - 1) < 1e-9 && x.perQuery == nil)
            #expect(x.nearestFine?.count == 3 && x.expertOfClass?.count == 3)
        }
        let captions = ["a red car on a road", "two dogs", "a cat asleep"]
        let ret = EnsembleTaskData(task: "r", kind: .retrieval, captions: captions, owner: [0, 0, 1], imageCount: 2, members: [member])
        let q = try Ensemble.routing(ret, routers: routers, encoder: encoder)
        for (x, (_, router)) in zip(q, routers) {
            let rows = try #require(x.perQuery)
            // one distribution over the 2 experts per caption (sums to 1 up to rounding of Doubles)
            #expect(rows.count == 3 && rows.allSatisfy { $0.count == 2 && abs($0.reduce(0, +) - 1) < 1e-9 })
            #expect(rows == (try router.routeEach(encoder.embed(captions, batchSize: 64))))
            // The corpus weights route all captions together, as a task of 3 "classes".
            let corpus = try router.route(encoder.embed(captions, batchSize: 64))
            #expect(corpus.weights == x.weights)
        }
    }
}
