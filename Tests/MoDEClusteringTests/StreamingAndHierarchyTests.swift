import Foundation
import Testing
import MoDETensor
import TestSupport
@testable import MoDEClustering
import MoDEFormats

@Suite struct StreamingTests {
    /// With one chunk holding every row and the same starting centres, streaming is the
    /// in-memory algorithm: identical centres and objectives.
    @Test func singleChunkEqualsInMemory() throws {
        let x = SyntheticFeatures.clustered(n: 600, d: 10, directions: 16, noise: 0.6, seed: 3).features
        let start = Tensor(shape: [6, 10])
        start.data.update(from: x.data, count: 60)
        let options = KMeansOptions(iterations: 4, initialization: .centres(start), stopWhenStable: false)
        let memory = try KMeans.fit(x, k: 6, options: options)
        let stream = try KMeans.fit(streaming: try TensorFeatureSource(x, chunkRows: 600), k: 6, options: options)
        #expect(stream.centres.array == memory.centres.array)
        #expect(stream.objectives == memory.objectives)
        #expect(stream.sizes == memory.sizes)
        #expect(stream.points == 600)
    }

    /// Small chunks (37 and 250 rows) against the whole data in memory: final objectives within
    /// 2% (seen: 0.8% above with 37-row chunks, 0.6% below with 250), and the running
    /// capacity keeps the pass sizes within the final bounds [245, 255].
    @Test(arguments: [37, 250])
    func chunkedObjectiveIsComparable(chunkRows: Int) throws {
        let x = SyntheticFeatures.clustered(n: 2000, d: 16, directions: 32, noise: 0.6, seed: 5).features
        let options = KMeansOptions(iterations: 10, seed: 1)
        let memory = try KMeans.fit(x, k: 8, options: options)
        let stream = try KMeans.fit(streaming: try TensorFeatureSource(x, chunkRows: chunkRows), k: 8, options: options)
        let a = memory.objectives.last!, b = stream.objectives.last!
        #expect(abs(a - b) <= 0.02 * a, "in memory \(a), streamed \(b)")
        #expect(stream.sizes.allSatisfy { $0 >= 245 && $0 <= 255 }, "sizes \(stream.sizes)")
    }

    @Test func streamedBadRowIsNamedGlobally() {
        var values = [Float](repeating: 1, count: 20 * 2)
        values[13 * 2] = .nan
        #expect(throws: ClusteringError.invalidRow(row: 13, problem: .nonFinite)) {
            try KMeans.fit(streaming: try TensorFeatureSource(Tensor(shape: [20, 2], values: values), chunkRows: 4), k: 2)
        }
        #expect(throws: ClusteringError.tooFewPoints(points: 3, clusters: 4)) {
            try KMeans.fit(streaming: try TensorFeatureSource(Tensor(shape: [3, 2], repeating: 1), chunkRows: 2), k: 4)
        }
    }

    @Test func safetensorsFilesStreamInOrder() throws {
        let dir = try TempDirectory()
        let x = SyntheticFeatures.clustered(n: 100, d: 6, directions: 4, noise: 0.6, seed: 7).features
        var paths: [String] = []
        var r0 = 0
        for (f, rows) in [30, 45, 25].enumerated() {
            var w = SafeTensorsWriter()
            // The middle file stores F16, which is converted on reading.
            w.add("features", x.data + r0 * 6, shape: [rows, 6], as: f == 1 ? .f16 : .f32)
            let path = dir.file("shard\(f).safetensors")
            try w.write(to: path)
            paths.append(path)
            r0 += rows
        }
        let source = try SafeTensorsFeatureSource(paths: paths, chunkRows: 20)
        #expect(source.rowCounts == [30, 45, 25])
        var seen: [Float] = [], chunks: [Int] = []
        try source.forEachChunk { rows, count in
            seen += Array(UnsafeBufferPointer(start: rows, count: count * 6))
            chunks.append(count)
        }
        #expect(chunks == [20, 10, 20, 20, 5, 20, 5])
        // F16 keeps 11 significant bits: relative error ≤ 2⁻¹¹ on values of magnitude < 1.
        expectClose(seen, x, relTol: 0, absTol: 1.0 / 2048, "streamed rows")
        let result = try KMeans.fit(streaming: source, k: 4, options: KMeansOptions(iterations: 3))
        #expect(result.points == 100)
        #expect(result.sizes.reduce(0, +) == 100)

        var bad = SafeTensorsWriter()
        bad.add("features", Tensor(shape: [4, 5]))
        try bad.write(to: dir.file("wide.safetensors"))
        #expect(throws: ClusteringError.self) { try SafeTensorsFeatureSource(paths: [paths[0], dir.file("wide.safetensors")]) }
        #expect(throws: ClusteringError.self) { try SafeTensorsFeatureSource(paths: [paths[0]], tensorName: "other") }
    }
}

@Suite struct HierarchyTests {
    /// 32 fine centres, 8 around each of 4 well-separated directions: the coarse step puts
    /// each group of 8 into its own coarse cluster (with and without size weights).
    @Test(arguments: [false, true])
    func fineCentresGroupByBlob(weighted: Bool) throws {
        let (fine, blob) = plantedBlobs(blobs: 4, perBlob: 8, d: 12, spread: 0.5, seed: 31)
        let sizes: [Double]? = weighted ? (0..<32).map { 100 + Double($0 % 3) } : nil
        let h = try ClusterHierarchy.build(fineCentres: fine, coarseClusters: 4, fineSizes: sizes)
        #expect(adjustedRandIndex(blob, h.fineToCoarse.map { Int($0) }) == 1)
        #expect(counts(h.fineToCoarse, k: 4) == [8, 8, 8, 8])

        // Points next to fine centre 5 go to fine centre 5 and its coarse cluster.
        let points = Tensor(shape: [2, 12])
        for t in 0..<12 { points.data[t] = fine.data[5 * 12 + t] + 0.01; points.data[12 + t] = fine.data[5 * 12 + t] }
        let a = try h.assign(points)
        #expect(a.fine == [5, 5])
        #expect(a.coarse == [h.fineToCoarse[5], h.fineToCoarse[5]])
        #expect(a.distance[1] < 1e-3)
    }

    @Test func fileRoundTrip() throws {
        let dir = try TempDirectory()
        let (fine, _) = plantedBlobs(blobs: 2, perBlob: 4, d: 3, spread: 0.5, seed: 2)
        let h = try ClusterHierarchy.build(fineCentres: fine, coarseClusters: 2,
                                           options: KMeansOptions(iterations: 5, metric: .cosine))
        try h.write(to: dir.file("clusters.safetensors"), metadata: ["features": "test"])
        let back = try ClusterHierarchy(contentsOf: dir.file("clusters.safetensors"))
        #expect(back.fineCentres.array == h.fineCentres.array)
        #expect(back.coarseCentres.array == h.coarseCentres.array)
        #expect(back.fineToCoarse == h.fineToCoarse)
        #expect(back.metric == .cosine)

        var w = SafeTensorsWriter()
        w.add(ClusterHierarchy.Key.fineCentres, fine)
        w.add(ClusterHierarchy.Key.coarseCentres, Tensor(shape: [2, 3]))
        w.add(ClusterHierarchy.Key.fineToCoarse, int32s: [0, 1, 2, 0, 0, 0, 0, 0], shape: [8])
        try w.write(to: dir.file("bad.safetensors"))
        #expect(throws: ClusteringError.self) { try ClusterHierarchy(contentsOf: dir.file("bad.safetensors")) }
    }
}
