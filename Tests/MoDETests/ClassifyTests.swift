import Foundation
import Testing
import TestSupport
@testable import MoDE

/// `mode classify` (`ClassifyRun`): expected probabilities come from the model's own encoders
/// (checked against open_clip by the parity tests) with decoding and preprocessing checked against
/// PIL, and the softmax over 100 · cos computed here in Double.
@Suite struct ClassifyTests {
    /// Writes a few images (two sizes, PNG and JPEG, one in a subfolder) and a corrupt file.
    func imageFolder(_ dir: TempDirectory) throws -> String {
        let root = dir.file("images")
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        var rng = SeededRNG(seed: 11)
        let a = smoothRandomImage(width: 48, height: 40, grid: 4, rng: &rng)
        let b = smoothRandomImage(width: 40, height: 64, grid: 4, rng: &rng)
        let c = smoothRandomImage(width: 36, height: 36, grid: 3, rng: &rng)
        try Data(encodePNG(a)).write(to: URL(fileURLWithPath: root + "/b.png"))
        try Data(encodeJPEG(b)).write(to: URL(fileURLWithPath: root + "/a.jpg"))
        try Data(encodePNG(c)).write(to: URL(fileURLWithPath: root + "/sub/c.PNG"))
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: root + "/bad.jpg"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: root + "/notes.txt"))
        return root
    }

    /// 100 · cos(image, class) per label, in Double: image and (single-template) prompt features
    /// from the model's encoders, one at a time.
    func expectedLogits(model: CLIPModel, image path: String, labels: [String], template: String) throws -> [Double] {
        let s = model.config.vision.imageSize, e = model.embedDim
        let pixels = CLIPPreprocessor(size: s).eval(try decodeImage([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
        let f = Tensor(shape: [1, e])
        pixels.withUnsafeBufferPointer { model.encodeImage(f.data, $0.baseAddress!, batch: 1) }
        let tokenizer = try CLIPTokenizer()
        func unit(_ v: [Float]) -> [Double] {
            let n = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            return v.map { Double($0) / n }
        }
        let image = unit(f.array)
        return labels.map { label in
            let ids = tokenizer.tokenize(template.replacingOccurrences(of: "{c}", with: label), contextLength: model.config.text.contextLength)
            let t = Tensor(shape: [1, e])
            ids.withUnsafeBufferPointer { model.encodeText(t.data, $0.baseAddress!, batch: 1) }
            return 100 * zip(image, unit(t.array)).reduce(0.0) { $0 + $1.0 * $1.1 }
        }
    }

    func softmax(_ x: [Double]) -> [Double] {
        let m = x.max()!
        let e = x.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    func check(_ p: ImagePrediction, expected probs: [Double], labels: [String], k: Int) {
        #expect(p.top.count == min(k, labels.count))
        for l in p.top {
            let i = labels.firstIndex(of: l.label)!
            #expect(abs(l.probability - probs[i]) < 2e-5, "\(p.path) \(l.label): \(l.probability) vs \(probs[i])")
        }
        let order = probs.indices.sorted { probs[$0] > probs[$1] }.prefix(k).map { labels[$0] }
        // The order is only checked where the expected probabilities are not near a tie.
        let sorted = probs.sorted(by: >)
        if zip(sorted, sorted.dropFirst()).prefix(k).allSatisfy({ $0 - $1 > 1e-4 }) { #expect(p.top.map(\.label) == Array(order)) }
    }

    @Test func classifiesAFolderWithOneModel() throws {
        let dir = try TempDirectory()
        let root = try imageFolder(dir)
        let member = try tinyMember(dir, "m", seed: 4)
        let labels = ["red apple", "green field", "blue sky", "night"]
        var request = ClassifyRequest(model: .checkpoint(member.checkpoint, config: nil), labels: labels,
                                      templates: PromptTemplates.simple, paths: [root])
        request.batch = 2
        request.topK = 3
        var skippedEvents: [SkippedImage] = []
        let result = try ClassifyRun.run(request) { if case .images(.skipped(let s)) = $0 { skippedEvents.append(s) } }
        // Sorted paths; the corrupt file is skipped with its reason, the text file never listed.
        #expect(result.predictions.map(\.path) == [root + "/a.jpg", root + "/b.png", root + "/sub/c.PNG"])
        #expect(result.skipped.map(\.path) == [root + "/bad.jpg"] && skippedEvents == result.skipped)
        #expect(!result.skipped[0].reason.isEmpty)
        #expect(result.summary.images == 3 && result.summary.skipped == 1 && result.summary.routing == nil)
        let model = try CheckpointStore.loadModel(member.checkpoint, config: nil)
        for p in result.predictions {
            let probs = softmax(try expectedLogits(model: model, image: p.path, labels: labels, template: PromptTemplates.simple[0]))
            check(p, expected: probs, labels: labels, k: 3)
        }
    }

    @Test func ensemblesExpertsWithTheirRoutingWeights() throws {
        let dir = try TempDirectory()
        let root = try imageFolder(dir)
        let (a, b, encoder) = try twoExperts(dir)
        let labels = ["cat", "dog", "car"]
        for method in [RoutingMethod.uniform, .paper] {
            var request = ClassifyRequest(model: .experts(dir.file("experts.json")), labels: labels, templates: PromptTemplates.simple, paths: [root])
            request.routing = RoutingOptions(method: method)
            request.batch = 2
            let result = try ClassifyRun.run(request)
            let routing = try #require(result.summary.routing)
            #expect(routing.experts == ["a", "b"] && routing.method == method)
            // The weights are `mode route`'s for these labels.
            let route = try ExpertManifest.load(dir.file("experts.json")).router(options: RoutingOptions(method: method))
                .route(ClassEmbedding.embed(classNames: labels, templates: PromptTemplates.simple, encoder: encoder))
            #expect(routing.weights == route.weights)
            if method == .uniform { #expect(routing.weights == [0.5, 0.5]) }
            let ma = try CheckpointStore.loadModel(a.checkpoint, config: nil), mb = try CheckpointStore.loadModel(b.checkpoint, config: nil)
            for p in result.predictions {
                let la = try expectedLogits(model: ma, image: p.path, labels: labels, template: PromptTemplates.simple[0])
                let lb = try expectedLogits(model: mb, image: p.path, labels: labels, template: PromptTemplates.simple[0])
                let probs = softmax(zip(la, lb).map { routing.weights[0] * $0 + routing.weights[1] * $1 })
                check(p, expected: probs, labels: labels, k: 5)
            }
        }
    }

    @Test func topExpertsKeepsTheHeaviestRenormalised() throws {
        // By hand: (0.3, 0.5, 0.2) keeping 2 → (0.3 / 0.8, 0.5 / 0.8, 0) = (0.375, 0.625, 0).
        let w = SparseEnsemble.keepTop([0.3, 0.5, 0.2], k: 2)
        #expect(abs(w[0] - 0.375) < 1e-12 && abs(w[1] - 0.625) < 1e-12 && w[2] == 0)
        // A tie keeps the lower index: (0.25, 0.25, 0.5) keeping 2 → (1/3, 0, 2/3).
        let t = SparseEnsemble.keepTop([0.25, 0.25, 0.5], k: 2)
        #expect(abs(t[0] - 1.0 / 3) < 1e-12 && t[1] == 0 && abs(t[2] - 2.0 / 3) < 1e-12)
        #expect(SparseEnsemble.keepTop([0, 1, 0], k: 2) == [0, 1, 0])
        // Classifying with the heavier of two experts alone gives that expert's own answers.
        let dir = try TempDirectory()
        let root = try imageFolder(dir)
        _ = try twoExperts(dir)
        let labels = ["cat", "dog", "car"]
        var request = ClassifyRequest(model: .experts(dir.file("experts.json")), labels: labels, templates: PromptTemplates.simple, paths: [root])
        let full = try #require(try ClassifyRun.run(request).summary.routing)
        request.topExperts = 1
        let sparse = try ClassifyRun.run(request)
        let heavy = full.weights[0] >= full.weights[1] ? 0 : 1
        #expect(sparse.summary.routing?.weights == (heavy == 0 ? [1, 0] : [0, 1]))
        let alone = try ClassifyRun.run(ClassifyRequest(model: .checkpoint(dir.file(["a", "b"][heavy]), config: nil), labels: labels,
                                                        templates: PromptTemplates.simple, paths: [root]))
        for (s, a) in zip(sparse.predictions, alone.predictions) {
            #expect(s.top.map(\.label) == a.top.map(\.label))
            for (p, q) in zip(s.top, a.top) { #expect(abs(p.probability - q.probability) < 1e-6) }
        }
    }

    @Test func expandsFoldersGlobsAndShardsInOrder() throws {
        let dir = try TempDirectory()
        let root = try imageFolder(dir)
        func files(_ inputs: [ImageInput]) -> [String] { inputs.map { if case .file(let p) = $0 { return p } else if case .shard(let p) = $0 { return "shard:" + p } else { return "" } } }
        #expect(files(try InferenceInputs.expand([root])) == [root + "/a.jpg", root + "/b.png", root + "/bad.jpg", root + "/sub/c.PNG"])
        #expect(files(try InferenceInputs.expand([root + "/*.png", root + "/a.jpg"])) == [root + "/b.png", root + "/a.jpg"])
        #expect(files(try InferenceInputs.expand([root + "/**/*.[pP][nN][gG]"])) == [root + "/b.png", root + "/sub/c.PNG"])
        #expect(files(try InferenceInputs.expand([root + "/?.jpg"])) == [root + "/a.jpg"])
        #expect(files(try InferenceInputs.expand([root + "/s*/*"])) == [root + "/sub/c.PNG"])
        // Shards: a .tar path, a brace pattern, and a glob; the samples come in shard order.
        var rng = SeededRNG(seed: 3)
        for s in 0..<2 {
            let w = try TarWriter(path: dir.file("shard-\(s).tar"))
            for k in 0..<2 { try w.add("s\(s)k\(k).png", encodePNG(smoothRandomImage(width: 32, height: 32, grid: 2, rng: &rng))) }
            try w.add("s\(s)k9.txt", Array("no image".utf8))
            try w.finish()
        }
        #expect(files(try InferenceInputs.expand([dir.file("shard-{0..1}.tar")])) == ["shard:" + dir.file("shard-0.tar"), "shard:" + dir.file("shard-1.tar")])
        #expect(files(try InferenceInputs.expand([dir.file("shard-*.tar"), dir.file("shard-0.tar")]))
                == ["shard:" + dir.file("shard-0.tar"), "shard:" + dir.file("shard-1.tar"), "shard:" + dir.file("shard-0.tar")])
        let reader = ImageBatchReader(try InferenceInputs.expand([dir.file("shard-1.tar"), dir.file("shard-0.tar")]))
        let items = try reader.read(10)
        let s0 = dir.file("shard-0.tar"), s1 = dir.file("shard-1.tar")
        #expect(items.map(\.name) == [s1 + "/s1k0.png", s1 + "/s1k1.png", s1 + "/s1k9", s0 + "/s0k0.png", s0 + "/s0k1.png", s0 + "/s0k9"])
        #expect(try reader.read(10).isEmpty)
        // Errors name the path.
        #expect(throws: InferenceError.invalid(dir.file("none"), "no such file or folder")) { try InferenceInputs.expand([dir.file("none")]) }
        #expect(throws: InferenceError.self) { try InferenceInputs.expand([root + "/*.gif"]) }
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: true)
        #expect(throws: InferenceError.self) { try InferenceInputs.expand([dir.file("empty")]) }
    }

    @Test func refusesEmptyLabelsAndFoldersWithoutReadableImages() throws {
        let dir = try TempDirectory()
        try Data(" \n\n".utf8).write(to: URL(fileURLWithPath: dir.file("labels.txt")))
        #expect(throws: InferenceError.invalid(dir.file("labels.txt"), "the labels file holds no labels")) {
            try InferenceInputs.labels(file: dir.file("labels.txt"))
        }
        try Data("cat\n dog \n\nfish\n".utf8).write(to: URL(fileURLWithPath: dir.file("labels2.txt")))
        #expect(try InferenceInputs.labels(file: dir.file("labels2.txt")) == ["cat", "dog", "fish"])
        #expect(InferenceInputs.labels(commaSeparated: "cat, dog,,car ") == ["cat", "dog", "car"])
        try FileManager.default.createDirectory(atPath: dir.file("bad"), withIntermediateDirectories: true)
        try Data("broken".utf8).write(to: URL(fileURLWithPath: dir.file("bad/x.jpg")))
        let member = try tinyMember(dir, "m", seed: 4)
        let request = ClassifyRequest(model: .checkpoint(member.checkpoint, config: nil), labels: ["cat"], paths: [dir.file("bad")])
        #expect(throws: InferenceError.self) { try ClassifyRun.run(request) }
        #expect(throws: InferenceError.self) {
            try ClassifyRun.run(ClassifyRequest(model: .checkpoint(member.checkpoint, config: nil), labels: [], paths: [dir.file("bad")]))
        }
    }

    @Test func topLabelsAreTheSoftmaxOfTheLogits() throws {
        // softmax(100, 99, 0): e / (e + 1) = 0.7310586, 1 / (e + 1) = 0.2689414, e^-100 ≈ 0.
        let logits = Tensor(shape: [2, 3])
        for (i, v) in [Float(100), 99, 0, 0, 0, 0].enumerated() { logits.data[i] = v }
        let p = ClassifyRun.top(logits: logits, labels: ["a", "b", "c"], paths: ["x", "y"], k: 2)
        #expect(p[0].top.map(\.label) == ["a", "b"])
        #expect(abs(p[0].top[0].probability - 0.7310586) < 1e-6 && abs(p[0].top[1].probability - 0.2689414) < 1e-6)
        #expect(p[1].top.map(\.label) == ["a", "b"] && p[1].top.allSatisfy { abs($0.probability - 1.0 / 3) < 1e-6 })
    }

    @Test func jsonLinesHaveTheDocumentedShape() throws {
        let p = ImagePrediction(path: "x.jpg", top: [LabelProbability(label: "cat", probability: 0.75)])
        let obj = try JSONValue.parse(JSONFile.data(p, pretty: false))
        #expect(obj["path"]?.string == "x.jpg")
        #expect(obj["top"]?.elements?.first?["label"]?.string == "cat" && obj["top"]?.elements?.first?["probability"]?.double == 0.75)
        let s = ClassifySummary(images: 3, skipped: 1, imagesPerSecond: 2.5,
                                routing: ClassifyRouting(method: .paper, experts: ["a"], weights: [1]))
        let sum = try JSONValue.parse(JSONFile.data(s, pretty: false))
        #expect(sum.members?.map(\.key).sorted() == ["images", "images_per_s", "routing", "skipped"])
        #expect(sum["routing"]?["weights"]?.elements?.count == 1 && sum["routing"]?["method"]?.string == "paper")
    }

    @Test func warnsAboutLabelsLongerThanTheContext() throws {
        let tokenizer = try CLIPTokenizer()
        let long = Array(repeating: "word", count: 20).joined(separator: " ")
        let w = ClassifyRun.truncationWarnings(["cat", long], templates: PromptTemplates.simple, tokenizer: tokenizer, contextLength: 16)
        #expect(w.count == 1 && w[0].contains(long))
    }
}

/// Two tiny experts and a manifest for them (DIR/experts.json) over hand-made clusters, with the
/// tiny BERT fixture as the caption encoder.
func twoExperts(_ dir: TempDirectory) throws -> (EnsembleMember, EnsembleMember, SentenceEncoder) {
    let a = try tinyMember(dir, "a", seed: 1), b = try tinyMember(dir, "b", seed: 2)
    let encoder = try SentenceEncoder(directory: fixturePath("MoDEModelsTests", "tiny_bert"))
    var rng = SeededRNG(seed: 5)
    let d = encoder.dimension
    let fine = Tensor(shape: [4, d]), coarse = Tensor(shape: [2, d])
    for i in 0..<fine.count { fine.data[i] = rng.nextNormal() / Float(d).squareRoot() }
    for j in 0..<d { coarse.data[j] = (fine.data[j] + fine.data[d + j]) / 2; coarse.data[d + j] = (fine.data[2 * d + j] + fine.data[3 * d + j]) / 2 }
    try ClusterHierarchy(fineCentres: fine, coarseCentres: coarse, fineToCoarse: [0, 0, 1, 1], metric: .squaredEuclidean)
        .write(to: dir.file("clusters.safetensors"))
    let manifest = ExpertManifest(clusters: dir.file("clusters.safetensors"), embedder: encoder.directory, experts: [
        ExpertEntry(name: "a", checkpoint: a.checkpoint + "/open_clip_model.safetensors", config: a.checkpoint + "/open_clip_config.json", fine: [0, 1], coarse: 0, samplesSeen: 30),
        ExpertEntry(name: "b", checkpoint: b.checkpoint + "/open_clip_model.safetensors", config: b.checkpoint + "/open_clip_config.json", fine: [2, 3], coarse: 1, samplesSeen: 20),
    ])
    try manifest.save(dir.file("experts.json"))
    return (a, b, encoder)
}
