import MoDEClustering
import Foundation
import MoDEFormats
import MoDEModels
import MoDENN
import MoDETensor
import Testing
import TestSupport
@testable import MoDE

/// Plain-Double versions of the two routing formulas (mode-method.md §5), written out
/// independently of `Router`: brute-force nearest centre, then the score of every expert.
enum RoutingByHand {
    /// (nearest centre, squared distance) of every row, by brute force over all centres.
    static func nearest(_ x: [Double], _ centres: [Double], d: Int) -> [(Int, Double)] {
        let n = x.count / d, m = centres.count / d
        return (0..<n).map { i in
            var best = (0, Double.infinity)
            for s in 0..<m {
                var dd = 0.0
                for j in 0..<d { dd += (x[i * d + j] - centres[s * d + j]) * (x[i * d + j] - centres[s * d + j]) }
                if dd < best.1 { best = (s, dd) }
            }
            return best
        }
    }

    static func normalised(_ w: [Double]) -> [Double] {
        let top = w.max()!
        let e = w.map { exp($0 - top) }
        return e.map { $0 / e.reduce(0, +) }
    }

    /// Paper: p(c) ∝ exp(Σ_{l: s*(l) ∈ S_c} A_l), A_l = [|L| < 10: exp(0.5 − √|L|)] · exp(−d²_l / λ'),
    /// λ' = λ / ln|L| when |L| > 200.
    static func paper(_ x: [Double], _ centres: [Double], d: Int, experts: [[Int]], lambda: Double = 0.2) -> [Double] {
        let near = nearest(x, centres, d: d)
        let n = Double(near.count)
        let lam = near.count > 200 ? lambda / log(n) : lambda
        let mult = near.count < 10 ? exp(0.5 - n.squareRoot()) : 1
        let score = experts.map { fine in
            near.filter { fine.contains($0.0) }.map { mult * exp(-$0.1 / lam) }.reduce(0, +)
        }
        return normalised(score)
    }

    /// Reference code: w_c = Σ_{l in c} exp((a − d_l) · 5 · log10(max(10, |L| − 200))), d unsquared,
    /// a = exp(0.5 − √|L|) when |L| < 10; p = softmax(w / 8).
    static func reference(_ x: [Double], _ centres: [Double], d: Int, experts: [[Int]]) -> [Double] {
        let near = nearest(x, centres, d: d)
        let n = Double(near.count)
        let a = near.count < 10 ? exp(0.5 - n.squareRoot()) : 0
        let k = 5 * log10(max(10, n - 200))
        let w = experts.map { fine in
            near.filter { fine.contains($0.0) }.map { exp((a - $0.1.squareRoot()) * k) }.reduce(0, +)
        }
        return normalised(w.map { $0 / 8 })
    }
}

@Suite struct RoutingTests {
    /// Four 2-D fine centres of length 0.75 on the axes; expert 0 covers +x and +y, expert 1
    /// covers −x and −y.
    static let centres: [Float] = [0.75, 0, 0, 0.75, -0.75, 0, 0, -0.75]
    static let experts: [[Int32]] = [[0, 1], [2, 3]]

    static func router(_ method: RoutingMethod, centres: [Float] = centres, experts: [[Int32]] = experts,
                       configure: (inout RoutingOptions) -> Void = { _ in }) throws -> Router {
        var o = RoutingOptions(method: method)
        configure(&o)
        return try Router(fineCentres: Tensor(shape: [centres.count / 2, 2], values: centres), expertFine: experts, options: o)
    }

    /// `count` unit 2-D vectors at angles start + 2π i / count (Float).
    static func circle(_ count: Int, start: Double = 0) -> [Float] {
        (0..<count).flatMap { i -> [Float] in
            let t = start + 2 * Double.pi * Double(i) / Double(count)
            return [Float(cos(t)), Float(sin(t))]
        }
    }

    static func expectClose(_ a: [Double], _ b: [Double], _ tol: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= tol, "\(a) vs \(b)", sourceLocation: sourceLocation) }
    }

    static func expectDistribution(_ w: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(w.allSatisfy { $0 >= 0 && $0.isFinite }, sourceLocation: sourceLocation)
        // Rounding of a handful of Double additions.
        #expect(abs(w.reduce(0, +) - 1) < 1e-12, sourceLocation: sourceLocation)
    }

    /// Checks paper and reference weights of the task `x` against the hand formulas.
    func check(_ x: [Float], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let xd = x.map(Double.init), cd = Self.centres.map(Double.init)
        let fine = Self.experts.map { $0.map(Int.init) }
        let t = Tensor(shape: [x.count / 2, 2], values: x)
        let p = try Self.router(.paper).route(t)
        let r = try Self.router(.reference).route(t)
        // Both sides compute in Double from the same Float inputs; only summation order differs
        // (~1e-15), so 1e-6 is loose.
        Self.expectClose(p.weights, RoutingByHand.paper(xd, cd, d: 2, experts: fine), 1e-6, sourceLocation: sourceLocation)
        Self.expectClose(r.weights, RoutingByHand.reference(xd, cd, d: 2, experts: fine), 1e-6, sourceLocation: sourceLocation)
        Self.expectDistribution(p.weights, sourceLocation: sourceLocation)
        Self.expectDistribution(r.weights, sourceLocation: sourceLocation)
        let near = RoutingByHand.nearest(xd, cd, d: 2)
        #expect(p.nearestFine == near.map { Int32($0.0) }, sourceLocation: sourceLocation)
        Self.expectClose(p.distances, near.map(\.1), 1e-12, sourceLocation: sourceLocation)  // squared, same Double sums
        Self.expectClose(r.distances, near.map { $0.1.squareRoot() }, 1e-12, sourceLocation: sourceLocation)  // unsquared
    }

    /// A single class lying on centre 0: d = 0, |L| = 1, so A = exp(0.5 − 1) for expert 0 and
    /// nothing for expert 1: p₀ = e^A / (e^A + 1). Reference: w₀ = exp(e^{−0.5} · 5), p = softmax(w / 8).
    @Test func singleClassByHand() throws {
        let t = Tensor(shape: [1, 2], values: [0.75, 0])
        let a = exp(-0.5)
        let p = try Self.router(.paper).route(t)
        Self.expectClose(p.weights, [exp(a) / (exp(a) + 1), 1 / (exp(a) + 1)], 1e-12)  // closed form, Double rounding only
        let w0 = exp(a * 5) / 8
        let r = try Self.router(.reference).route(t)
        Self.expectClose(r.weights, [exp(w0) / (exp(w0) + 1), 1 / (exp(w0) + 1)], 1e-12)  // closed form
        #expect(p.nearestFine == [0] && p.expertOfClass == [0] && p.distances == [0])
    }

    @Test func fewClassesBranch() throws {
        // |L| = 3 < 10: A × exp(0.5 − √3); reference offset a = exp(0.5 − √3).
        try check([0.6, 0.8, 0.8, -0.6, -1, 0])
    }

    @Test func middleBranch() throws {
        // |L| = 12: no adjustment; log10(max(10, 12 − 200)) = 1.
        try check(Self.circle(12, start: 0.1))
    }

    @Test func manyClassesBranch() throws {
        // |L| = 250 > 200: λ / ln 250; reference scale × log10(50).
        try check(Self.circle(250))
    }

    @Test func classesInOneExpertRouteToIt() throws {
        // Eight centres on the unit circle; expert 0 covers the four around +x, expert 1 the rest.
        let centres = Self.circle(8, start: -3 * Double.pi / 8)
        let experts: [[Int32]] = [[0, 1, 2, 3], [4, 5, 6, 7]]
        let x = (0..<14).flatMap { i -> [Float] in  // 14 classes within ±39° of +x, in expert 0's half
            let t = (-39 + 6 * Double(i)) * Double.pi / 180
            return [Float(cos(t)), Float(sin(t))]
        }
        let t = Tensor(shape: [x.count / 2, 2], values: x)
        for method in [RoutingMethod.paper, .reference] {
            let d = try Self.router(method, centres: centres, experts: experts).route(t)
            Self.expectDistribution(d.weights)
            // The paper's scores differ by ~10 (p₀ ≈ 1); the reference's by ~w/8 ≈ 0.8 (p₀ ≈ 0.7).
            #expect(d.weights[0] > (method == .paper ? 0.99 : 0.6), "\(method): \(d.weights)")
            #expect(d.expertOfClass.allSatisfy { $0 == 0 })
        }
    }

    @Test func uniformWeights() throws {
        let d = try Self.router(.uniform, experts: [[0], [1], [2, 3]]).route(Tensor(shape: [2, 2], values: [1, 0, 0, 1]))
        let third: Double = 1.0 / 3
        #expect(d.weights == [third, third, third])
        #expect(d.nearestFine == [0, 1] && d.expertOfClass == [0, 1])
        Self.expectClose(d.distances, [0.0625, 0.0625], 1e-12)  // squared: (1 − 0.75)²
        #expect(try Self.router(.uniform).routeEach(Tensor(shape: [3, 2], values: [1, 0, 0, 1, -1, 0])) == [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    }

    @Test func overlappingExpertsBothCount() throws {
        // Centre 1 is covered by both experts: its class adds A to both scores.
        let experts: [[Int32]] = [[0, 1], [1, 2]]
        let x: [Float] = [0, 1, 0.6, 0.8, 1, 0]
        let d = try Self.router(.paper, experts: experts).route(Tensor(shape: [3, 2], values: x))
        let expected = RoutingByHand.paper(x.map(Double.init), Self.centres.map(Double.init), d: 2, experts: [[0, 1], [1, 2]])
        Self.expectClose(d.weights, expected, 1e-6)  // same Double formula
        #expect(d.expertOfClass == [0, 0, 0])  // the first expert covering s*(l)
        Self.expectDistribution(d.weights)
    }

    @Test func uncoveredCentreContributesNothing() throws {
        // Only centres 0 and 1 are covered; a class nearest to centre 3 leaves both scores at 0.
        for method in [RoutingMethod.paper, .reference] {
            let d = try Self.router(method, experts: [[0], [1]]).route(Tensor(shape: [1, 2], values: [0, -1]))
            #expect(d.nearestFine == [3] && d.expertOfClass == [-1])
            #expect(d.weights == [0.5, 0.5])
        }
    }

    @Test func renormalisedCentres() throws {
        let t = Tensor(shape: [1, 2], values: [1, 0])
        let plain = try Self.router(.paper).route(t)
        let unit = try Self.router(.paper) { $0.renormaliseCentres = true }.route(t)
        Self.expectClose(plain.distances, [0.0625], 1e-12)  // (1 − 0.75)², exact in Double
        Self.expectClose(unit.distances, [0], 1e-12)
        let cd = [1.0, 0, 0, 1, -1, 0, 0, -1]
        Self.expectClose(unit.weights, RoutingByHand.paper([1, 0], cd, d: 2, experts: [[0, 1], [2, 3]]), 1e-6)  // same formula
        #expect(unit.weights[0] > plain.weights[0])
    }

    @Test func routeEachIsOneTaskPerQuery() throws {
        let x: [Float] = [0.6, 0.8, -0.8, 0.6, 0, -1]
        for method in [RoutingMethod.paper, .reference] {
            let r = try Self.router(method)
            let each = try r.routeEach(Tensor(shape: [3, 2], values: x))
            #expect(each.count == 3)
            for q in 0..<3 {
                let single = try r.route(Tensor(shape: [1, 2], values: Array(x[2 * q..<2 * q + 2])))
                Self.expectClose(each[q], single.weights, 1e-12)  // identical computation
                Self.expectDistribution(each[q])
            }
        }
    }

    @Test func nearestMatchesBruteForce() throws {
        var rng = SeededRNG(seed: 7)
        let centres = Tensor.randn([40, 3], rng: &rng), x = Tensor.randn([30, 3], rng: &rng)
        let r = try Router(fineCentres: centres, expertFine: [Array(0..<20), Array(20..<40)], options: RoutingOptions())
        let (index, dist) = try r.nearest(x)
        let near = RoutingByHand.nearest(x.array.map(Double.init), centres.array.map(Double.init), d: 3)
        #expect(index == near.map { Int32($0.0) })
        Self.expectClose(dist, near.map(\.1), 1e-12)  // same Double sums
    }

    @Test func stableWithLargeScores() throws {
        // 1000 classes all on centre 0: the paper's score for expert 0 is 1000 (exp would overflow
        // without subtracting the maximum).
        let x = (0..<1000).flatMap { _ -> [Float] in [0.75, 0] }
        let d = try Self.router(.paper).route(Tensor(shape: [1000, 2], values: x))
        Self.expectDistribution(d.weights)
        #expect(d.weights[0] > 0.999999)
    }

    @Test func rejectsBadInput() throws {
        let r = try Self.router(.paper)
        #expect(throws: RoutingError.self) { try r.route(Tensor(shape: [2, 3])) }
        #expect(throws: RoutingError.self) { try r.route(Tensor(shape: [1, 2], values: [.nan, 0])) }
        #expect(throws: RoutingError.self) { try Self.router(.paper, experts: [[0], [9]]) }
        #expect(throws: RoutingError.self) { try Self.router(.paper, experts: []) }
        #expect(throws: RoutingError.self) { try Self.router(.paper) { $0.lambda = 0 } }
    }

    @Test func classEmbeddingAverage() {
        // Two classes × two templates: class 0's prompts (1, 0) and (0, 1) average to (1, 1)/√2.
        let f = Tensor(shape: [4, 2], values: [1, 0, 0, 1, 0, -1, 0, -1])
        let e = ClassEmbedding.average(f, classes: 2, templates: 2)
        let h = Float(0.5).squareRoot()
        #expect(abs(e.data[0] - h) < 1e-6 && abs(e.data[1] - h) < 1e-6)  // Float rounding of √0.5
        #expect(e.array[2] == 0 && e.array[3] == -1)
    }
}

@Suite struct ExpertManifestTests {
    /// A folder with clusters.safetensors (m = 4 fine centres in 2-D, 2 coarse), an embedder
    /// folder whose config.json says hidden_size `embedderDim`, and experts' files.
    struct Fixture {
        let dir: TempDirectory
        let outside: TempDirectory
        var clusters: String { dir.file("clusters.safetensors") }
        var embedder: String { dir.file("minilm") }

        init(embedderDim: Int = 2) throws {
            dir = try TempDirectory()
            outside = try TempDirectory()
            let h = try ClusterHierarchy(fineCentres: Tensor(shape: [4, 2], values: RoutingTests.centres),
                                         coarseCentres: Tensor(shape: [2, 2], values: [0.4, 0.4, -0.4, -0.4]),
                                         fineToCoarse: [0, 0, 1, 1], metric: .squaredEuclidean)
            try h.write(to: clusters)
            try FileManager.default.createDirectory(atPath: embedder, withIntermediateDirectories: true)
            try Data("{\"hidden_size\": \(embedderDim), \"model_type\": \"bert\"}".utf8).write(to: URL(fileURLWithPath: embedder + "/config.json"))
        }

        /// A checkpoint file and an open_clip_config.json of embedding width `embedDim` in `folder`.
        func expert(_ folder: String, embedDim: Int = 128, layers: Int = 1, preset: String? = nil) throws -> (checkpoint: String, config: String) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let cfg = try preset.map { try CLIPConfig.load($0) } ?? CLIPConfig(embedDim: embedDim, vision: .init(imageSize: 32, patchSize: 16, width: 16, layers: layers, headWidth: 8),
                                 text: .init(contextLength: 16, width: 16, heads: 2, layers: 1))
            let json = try JSONSerialization.data(withJSONObject: ["model_cfg": JSONSerialization.jsonObject(with: cfg.jsonData())])
            try json.write(to: URL(fileURLWithPath: folder + "/open_clip_config.json"))
            try Data([0]).write(to: URL(fileURLWithPath: folder + "/model.safetensors"))
            return (folder + "/model.safetensors", folder + "/open_clip_config.json")
        }
    }

    @Test func roundTripStoresRelativePaths() throws {
        let f = try Fixture()
        // Expert a's config file and expert b's preset name describe the same model.
        let a = try f.expert(f.dir.file("runs/a/checkpoints/step_00000010"), preset: "tiny")
        let b = try f.expert(f.outside.file("b"), preset: "tiny")
        var m = ExpertManifest(clusters: f.clusters, embedder: f.embedder)
        let path = f.dir.file("experts.json")
        try m.add(ExpertEntry(name: "e0", checkpoint: a.checkpoint, config: a.config, fine: [0, 1], coarse: 0, samplesSeen: 80,
                              seed: "seed-run", run: f.dir.file("runs/a")), manifestPath: path)
        try m.add(ExpertEntry(name: "e1", checkpoint: b.checkpoint, config: "tiny", fine: [2, 3], coarse: 1, samplesSeen: 40), manifestPath: path)
        try m.save(path)

        let raw = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        #expect(raw["clusters"] as? String == "clusters.safetensors")
        #expect(raw["embedder"] as? String == "minilm")
        #expect(raw["format_version"] as? Int == 1)
        let experts = raw["experts"] as! [[String: Any]]
        #expect(experts[0]["checkpoint"] as? String == "runs/a/checkpoints/step_00000010/model.safetensors")
        #expect(experts[0]["config"] as? String == "runs/a/checkpoints/step_00000010/open_clip_config.json")
        #expect(experts[0]["run"] as? String == "runs/a")
        #expect(experts[0]["samples_seen"] as? Int == 80)
        #expect(experts[1]["checkpoint"] as? String == ExpertManifest.absolute(b.checkpoint))  // outside: absolute
        #expect(experts[1]["config"] as? String == "tiny")  // a preset name stays a name

        let back = try ExpertManifest.load(path)
        #expect(back.clusters == ExpertManifest.absolute(f.clusters))
        #expect(back.experts.map(\.checkpoint) == [ExpertManifest.absolute(a.checkpoint), ExpertManifest.absolute(b.checkpoint)])
        #expect(back.experts[0].config == ExpertManifest.absolute(a.config) && back.experts[1].config == "tiny")
        #expect(back.experts.map(\.fine) == [[0, 1], [2, 3]] && back.experts[0].seed == "seed-run")

        // Replacing one expert leaves the other as it was.
        var again = back
        try again.add(ExpertEntry(name: "e1", checkpoint: b.checkpoint, config: b.config, fine: [3], samplesSeen: 8), manifestPath: path)
        #expect(again.experts[0] == back.experts[0] && again.experts[1].fine == [3] && again.experts.count == 2)

        let router = try back.router(options: RoutingOptions())
        #expect(router.expertCount == 2)
        let d = try router.route(Tensor(shape: [1, 2], values: [1, 0]))
        #expect(d.weights[0] > d.weights[1])
    }

    /// The manifest error for `m` saved and loaded, or nil.
    func loadError(_ m: ExpertManifest, _ path: String) throws -> String? {
        try m.save(path)
        do { _ = try ExpertManifest.load(path) } catch { return "\(error)" }
        return nil
    }

    @Test func missingCheckpointNamesFile() throws {
        let f = try Fixture()
        let a = try f.expert(f.dir.file("a"))
        let path = f.dir.file("experts.json")
        let m = ExpertManifest(clusters: f.clusters, embedder: f.embedder,
                               experts: [ExpertEntry(name: "e0", checkpoint: f.dir.file("gone/model.safetensors"), config: a.config, fine: [0])])
        let message = try #require(try loadError(m, path))
        #expect(message.contains(path) && message.contains("e0") && message.contains("gone/model.safetensors"))
    }

    @Test func mismatchedEmbeddingDimensionNamesExpertAndConfig() throws {
        let f = try Fixture()
        let a = try f.expert(f.dir.file("a"), embedDim: 128), b = try f.expert(f.dir.file("b"), embedDim: 64)
        let path = f.dir.file("experts.json")
        var m = ExpertManifest(clusters: f.clusters, embedder: f.embedder)
        try m.add(ExpertEntry(name: "e0", checkpoint: a.checkpoint, config: a.config, fine: [0, 1]), manifestPath: path)
        let e = ExpertEntry(name: "e1", checkpoint: b.checkpoint, config: b.config, fine: [2, 3])
        var message = ""
        do { try m.add(e, manifestPath: path) } catch { message = "\(error)" }
        #expect(message.contains(path) && message.contains("e1") && message.contains(b.config) && message.contains("64"))
        #expect(m.experts.count == 1)  // a failed add changes nothing
        m.experts.append(e)
        let loaded = try #require(try loadError(m, path))
        #expect(loaded.contains("e1") && loaded.contains("b/open_clip_config.json"))
    }

    @Test func differentArchitectureNamesExpertAndConfig() throws {
        let f = try Fixture()
        let a = try f.expert(f.dir.file("a")), b = try f.expert(f.dir.file("b"), layers: 2)
        let path = f.dir.file("experts.json")
        var m = ExpertManifest(clusters: f.clusters, embedder: f.embedder)
        try m.add(ExpertEntry(name: "e0", checkpoint: a.checkpoint, config: a.config, fine: [0, 1]), manifestPath: path)
        var message = ""
        do { try m.add(ExpertEntry(name: "e1", checkpoint: b.checkpoint, config: b.config, fine: [2, 3]), manifestPath: path) } catch {
            message = "\(error)"
        }
        #expect(message.contains(path) && message.contains("e1") && message.contains(b.config) && message.contains("architecture"))
        #expect(m.experts.count == 1)
    }

    /// An expert from a split clustering (same fine centres, more coarse clusters) joins the
    /// manifest with its own clusters file recorded; other fine centres are refused.
    @Test func expertFromASplitKeepsItsClustersFile() throws {
        let f = try Fixture()
        let split = f.dir.file("split/clusters.safetensors")
        try FileManager.default.createDirectory(atPath: f.dir.file("split"), withIntermediateDirectories: true)
        try ClusterHierarchy(fineCentres: Tensor(shape: [4, 2], values: RoutingTests.centres),
                             coarseCentres: Tensor(shape: [3, 2], values: [0.4, 0.4, -0.4, -0.4, 0.5, -0.5]),
                             fineToCoarse: [0, 2, 1, 1], metric: .squaredEuclidean).write(to: split)
        let a = try f.expert(f.dir.file("a")), b = try f.expert(f.dir.file("b"))
        let path = f.dir.file("experts.json")
        var m = ExpertManifest(clusters: f.clusters, embedder: f.embedder)
        try m.add(ExpertEntry(name: "e0", checkpoint: a.checkpoint, config: a.config, fine: [0, 1], coarse: 0), manifestPath: path)
        try m.add(ExpertEntry(name: "e2", checkpoint: b.checkpoint, config: b.config, fine: [1], coarse: 2, clusters: split), manifestPath: path)
        try m.save(path)
        let back = try ExpertManifest.load(path)
        #expect(back.experts[1].clusters == ExpertManifest.absolute(split) && back.experts[0].clusters == nil)
        let raw = try String(contentsOfFile: path, encoding: .utf8)
        #expect(raw.contains("\"split/clusters.safetensors\""))  // relative inside the folder

        let other = f.dir.file("other.safetensors")
        try ClusterHierarchy(fineCentres: Tensor(shape: [4, 2], values: RoutingTests.centres.map { $0 + 0.1 }),
                             coarseCentres: Tensor(shape: [2, 2], values: [0.4, 0.4, -0.4, -0.4]),
                             fineToCoarse: [0, 0, 1, 1], metric: .squaredEuclidean).write(to: other)
        var message = ""
        do { try m.add(ExpertEntry(name: "e3", checkpoint: b.checkpoint, config: b.config, fine: [2], coarse: 1, clusters: other), manifestPath: path) } catch {
            message = "\(error)"
        }
        #expect(message.contains("e3") && message.contains("other.safetensors") && message.contains("fine centres"))
    }

    @Test func fineIndexOutOfRangeNamesClustersFile() throws {
        let f = try Fixture()
        let a = try f.expert(f.dir.file("a"))
        let path = f.dir.file("experts.json")
        let m = ExpertManifest(clusters: f.clusters, embedder: f.embedder,
                               experts: [ExpertEntry(name: "e0", checkpoint: a.checkpoint, config: a.config, fine: [0, 4])])
        let message = try #require(try loadError(m, path))
        #expect(message.contains(path) && message.contains("e0") && message.contains("clusters.safetensors") && message.contains("0..<4"))
    }

    @Test func embedderDimensionMustMatchCentres() throws {
        let f = try Fixture(embedderDim: 384)
        let a = try f.expert(f.dir.file("a"))
        let path = f.dir.file("experts.json")
        var m = ExpertManifest(clusters: f.clusters, embedder: f.embedder)
        var message = ""
        do { try m.add(ExpertEntry(name: "e0", checkpoint: a.checkpoint, config: a.config, fine: [0]), manifestPath: path) } catch {
            message = "\(error)"
        }
        #expect(message.contains("384") && message.contains("config.json") && message.contains("clusters.safetensors"))
    }

    @Test func unreadableManifestNamesFile() throws {
        let dir = try TempDirectory()
        let path = dir.file("experts.json")
        try Data("{\"clusters\": 3}".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try ExpertManifest.load(path) } throws: { "\($0)".contains(path) }
        #expect { try ExpertManifest.load(dir.file("none.json")) } throws: { "\($0)".contains("none.json") }
    }

    @Test func pathsAreResolvedLexically() {
        #expect(ExpertManifest.lexical("/a/./b//c/../d") == "/a/b/d")
        #expect(ExpertManifest.relativise("/m/runs/x/../y", base: "/m") == "runs/y")
        #expect(ExpertManifest.relativise("/mm/y", base: "/m") == "/mm/y")  // a sibling with a common prefix is outside
        #expect(ExpertManifest.resolve("runs/y", base: "/m") == "/m/runs/y" && ExpertManifest.resolve("/abs", base: "/m") == "/abs")
    }

    @Test func entryFromRunFolder() throws {
        let f = try Fixture()
        let run = f.dir.file("run")
        let ckpt = run + "/checkpoints/step_00000012"
        _ = try f.expert(ckpt)
        try JSONFile.write(TrainerState(step: 12, rng: SeededRNG(seed: 0), data: .synthetic(next: 96), dataStats: nil), to: ckpt + "/state.json")
        try Data("step_00000012\n".utf8).write(to: URL(fileURLWithPath: run + "/checkpoints/latest"))
        try JSONFile.write(RunParameters(options: TrainingOptions(batch: 8, steps: 20), data: "synthetic", initCheckpoint: "seed/run"),
                           to: run + "/params.json")
        let h = try ClusterHierarchy(contentsOf: f.clusters)
        let e = try ExpertManifest.entry(run: run, hierarchy: h, coarse: 1, name: "expert-1")
        #expect(e.fine == [2, 3] && e.coarse == 1 && e.samplesSeen == 96 && e.seed == "seed/run")
        #expect(e.checkpoint == ExpertManifest.absolute(ckpt + "/model.safetensors"))
        #expect(e.config == ExpertManifest.absolute(ckpt + "/open_clip_config.json"))
        #expect(throws: ExpertManifestError.self) { try ExpertManifest.entry(run: run, hierarchy: h, coarse: 2, name: "x") }
        #expect(throws: ExpertManifestError.self) { try ExpertManifest.entry(run: f.dir.file("nothing"), hierarchy: h, coarse: 0, name: "x") }
    }

    /// An expert trained elsewhere: a transformers folder (its config.json is recorded) and a
    /// safetensors state dict without a config (the preset named is recorded; without one it is
    /// refused). The manifest validates, and the ensemble loads the very weights that were saved.
    @Test func expertFromACheckpointTrainedElsewhere() throws {
        let f = try Fixture(embedderDim: 2)
        let cfg = CLIPConfig(embedDim: 128, vision: .init(imageSize: 32, patchSize: 16, width: 16, layers: 1, headWidth: 8),
                             text: .init(contextLength: 16, width: 16, heads: 2, layers: 1))
        let model = CLIPModel(config: cfg, seed: 7)
        let hf = f.dir.file("hf-expert")
        try model.saveHuggingFaceFolder(hf)
        let manifest = f.dir.file("experts.json")
        let r = try ExpertManifest.register(.checkpoint(hf, config: nil), clusters: f.clusters, coarse: 1,
                                            manifestPath: manifest, embedder: f.embedder)
        #expect(r.entry.fine == [2, 3] && r.entry.coarse == 1 && r.entry.samplesSeen == 0 && r.entry.seed == nil)
        #expect(r.entry.config == ExpertManifest.absolute(hf + "/config.json"))
        #expect(r.entry.checkpoint == ExpertManifest.absolute(hf + "/model.safetensors"))
        let m = try ExpertManifest.load(manifest)
        try m.validate(manifestPath: manifest)
        let member = try #require(Ensemble.members(of: m).members.first)
        let loaded = try CheckpointStore.loadModel(member.checkpoint, config: member.config)
        #expect(Array(UnsafeBufferPointer(start: loaded.arena.values.data, count: loaded.arena.values.count))
                == Array(UnsafeBufferPointer(start: model.arena.values.data, count: model.arena.values.count)))
        // A bare state dict needs its config.
        let bare = f.dir.file("bare.safetensors")
        try model.save(to: bare)
        let h = try ClusterHierarchy(contentsOf: f.clusters)
        #expect { try ExpertManifest.entry(checkpoint: bare, config: nil, hierarchy: h, coarse: 0, name: "x") } throws: { e in
            "\(e)".contains(bare) && "\(e)".contains("--config")
        }
        let cfgFile = f.dir.file("expert-config.json")
        try JSONSerialization.data(withJSONObject: ["model_cfg": JSONSerialization.jsonObject(with: cfg.jsonData())]).write(to: URL(fileURLWithPath: cfgFile))
        let e = try ExpertManifest.entry(checkpoint: bare, config: cfgFile, hierarchy: h, coarse: 0, name: "x")
        #expect(e.fine == [0, 1] && e.config == ExpertManifest.absolute(cfgFile))
    }
}
