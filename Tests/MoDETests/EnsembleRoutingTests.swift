import MoDEClustering
import MoDEData
import Foundation
import MoDEModels
import MoDETensor
import Testing
import TestSupport
@testable import MoDE

@Suite struct EnsembleRoutingTests {
    /// The tiny BERT fixture of the Models tests (a caption encoder with 32-wide embeddings).
    func tinyEncoder() throws -> SentenceEncoder {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return try SentenceEncoder(directory: tests.appendingPathComponent("MoDEModelsTests/Fixtures/tiny_bert").path)
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

    @Test func ensembleCommandWritesTheReport() throws {
        #expect(FileManager.default.isExecutableFile(atPath: TrainProcessTests.modeBinary), "no mode binary at \(TrainProcessTests.modeBinary)")
        let dir = try TempDirectory()
        let tasks = try synthTasks(dir)
        let encoder = try tinyEncoder()
        let a = try tinyMember(dir, "a", seed: 1), b = try tinyMember(dir, "b", seed: 2), dense = try tinyMember(dir, "dense", seed: 3)
        var rng = SeededRNG(seed: 5)
        let d = encoder.dimension
        let fine = Tensor(shape: [4, d]), coarse = Tensor(shape: [2, d])
        for i in 0..<fine.count { fine.data[i] = rng.nextNormal() / Float(d).squareRoot() }
        for j in 0..<d { coarse.data[j] = (fine.data[j] + fine.data[d + j]) / 2; coarse.data[d + j] = (fine.data[2 * d + j] + fine.data[3 * d + j]) / 2 }
        try ClusterHierarchy(fineCentres: fine, coarseCentres: coarse, fineToCoarse: [0, 0, 1, 1], metric: .squaredEuclidean)
            .write(to: dir.file("clusters.safetensors"))
        let manifest = ExpertManifest(clusters: dir.file("clusters.safetensors"), embedder: encoder.directory, experts: [
            ExpertEntry(name: "a", checkpoint: a.checkpoint + "/open_clip_model.safetensors", config: a.checkpoint + "/open_clip_config.json",
                        fine: [0, 1], coarse: 0, samplesSeen: 30),
            ExpertEntry(name: "b", checkpoint: b.checkpoint + "/open_clip_model.safetensors", config: b.checkpoint + "/open_clip_config.json",
                        fine: [2, 3], coarse: 1, samplesSeen: 20),
        ])
        try manifest.save(dir.file("experts.json"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TrainProcessTests.modeBinary)
        p.arguments = ["ensemble", "--experts", dir.file("experts.json"), "--tasks", dir.file("corpus/tasks"), "--out", dir.file("report"),
                       "--baseline", "dense=" + dense.checkpoint, "--routing", "paper,reference,uniform", "--batch", "8", "--threads", "1"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(printed.contains("routed-paper") && printed.contains("baseline-dense"))
        for v in ["expert-a", "expert-b", "uniform", "routed-paper", "routed-reference", "baseline-dense"] {
            for t in tasks {
                let file = "\(v)/\(t.name)_\(v)_ViT-p16-w16x1-i32-e16-t16x1_en_\(t.kind.rawValue).json"  // see tinyMember
                #expect(FileManager.default.fileExists(atPath: dir.file("report/" + file)), "\(file)")
            }
        }
        for f in ["summary.csv", "routing.json", "report.md", "charts/routing-paper.svg", "charts/routing-reference.svg",
                  "charts/accuracy.svg", "charts/cluster-sizes.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir.file("report/" + f)), "\(f)")
        }
        let routing = try JSONDecoder().decode(EnsembleReport.RoutingFile.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("report/routing.json"))))
        #expect(routing.tasks.count == tasks.count && routing.experts == ["a", "b"])
        for t in routing.tasks {
            #expect(t.methods.map(\.method) == ["paper", "reference"])
            #expect(t.methods.allSatisfy { ($0.perQuery != nil) == (t.kind == .retrieval) })
        }
    }
}
