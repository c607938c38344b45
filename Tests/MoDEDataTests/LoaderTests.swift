import Foundation
import Testing
import MoDETensor
import TestSupport
@testable import MoDEData

@Suite struct LoaderTests {
    /// Writes `shards` shards of `perShard` samples (8×8 JPEG + caption "caption N"), with a few
    /// damaged samples in shard 0: an undecodable image, an empty caption, a missing caption.
    func makeShards(_ dir: String, shards: Int, perShard: Int) throws -> [String] {
        var rng = SeededRNG(seed: 11)
        var paths: [String] = []
        for s in 0..<shards {
            let path = dir + "/\(s).tar"
            let w = try TarWriter(path: path)
            for i in 0..<perShard {
                let key = String(format: "%02d%04d", s, i)
                let img = smoothRandomImage(width: 12, height: 10, grid: 3, rng: &rng)
                try w.add(key + ".jpg", encodeJPEG(img, quality: 90))
                try w.add(key + ".txt", Array("caption \(s * perShard + i)".utf8))
            }
            if s == 0 {
                try w.add("bad1.jpg", [0xFF, 0xD8, 1, 2, 3]); try w.add("bad1.txt", Array("x".utf8))
                try w.add("bad2.jpg", encodeJPEG(smoothRandomImage(width: 8, height: 8, grid: 2, rng: &rng))); try w.add("bad2.txt", Array(" ".utf8))
                try w.add("bad3.jpg", encodeJPEG(smoothRandomImage(width: 8, height: 8, grid: 2, rng: &rng)))
            }
            try w.finish()
            paths.append(path)
        }
        return paths
    }

    /// Encodes a caption "caption N" as [N] so batches can be identified.
    static let encode: @Sendable (String) -> [Int32] = { [Int32($0.split(separator: " ").last.flatMap { Int($0) } ?? -1)] }

    func loader(_ shards: [String], workers: Int = 2, filter: (@Sendable (String, String) -> Bool)? = nil) throws -> ShardLoader {
        var o = LoaderOptions(shards: shards, imageSize: 8, contextLength: 4)
        o.workers = workers
        o.shuffleBuffer = 7
        o.prefetch = 5
        o.seed = 3
        return try ShardLoader(options: o, encodeText: Self.encode, filter: filter)
    }

    func batches(_ l: ShardLoader, _ n: Int, batch: Int = 4) throws -> [([Float], [Int32])] {
        let imgs = Tensor(shape: [batch, 3, 8, 8])
        let txt = UnsafeMutablePointer<Int32>.allocate(capacity: batch * 4)
        defer { txt.deallocate() }
        var out: [([Float], [Int32])] = []
        for _ in 0..<n {
            try l.next(images: imgs.data, texts: txt, batch: batch)
            out.append((imgs.array, Array(UnsafeBufferPointer(start: txt, count: batch * 4))))
        }
        return out
    }

    @Test func batchesDoNotDependOnWorkerCount() throws {
        let d = try TempDirectory()
        let shards = try makeShards(d.path, shards: 3, perShard: 6)
        let a = try batches(loader(shards, workers: 1), 6)
        let b = try batches(loader(shards, workers: 3), 6)
        #expect(a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1))
        // a pass holds the 18 good samples exactly once, shuffled
        let ids = a.prefix(5).flatMap { b in stride(from: 0, to: b.1.count, by: 4).map { b.1[$0] } }.prefix(18)
        #expect(Set(ids) == Set((0..<18).map { Int32($0) }) && Array(ids) != (0..<18).map { Int32($0) })
    }

    @Test func inlineDecodingGivesTheSameBatchesAndCounts() throws {
        let d = try TempDirectory()
        let shards = try makeShards(d.path, shards: 3, perShard: 6)
        let threaded = try loader(shards, workers: 2), inline = try loader(shards, workers: 0)
        // batch 5 over 18 good samples a pass: batches straddle the pass boundary
        let a = try batches(threaded, 8, batch: 5)
        let b = try batches(inline, 8, batch: 5)
        #expect(a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1))  // bit-identical: same code, same seeds
        #expect(threaded.position == inline.position)
        let s = threaded.stats, t = inline.stats
        #expect(s.samples == t.samples && s.skipped == t.skipped && s.shards == t.shards, "\(s) vs \(t)")
    }

    /// Resumes with either mode (0: inline decoding) from a position saved by either.
    @Test(arguments: [2, 0], [2, 0])
    func resumeContinuesTheSameStream(before: Int, after: Int) throws {
        let d = try TempDirectory()
        let shards = try makeShards(d.path, shards: 3, perShard: 6)
        let full = try batches(loader(shards, workers: before), 9)        // crosses into the second pass
        let l = try loader(shards, workers: before)
        _ = try batches(l, 5)
        let pos = l.position
        let resumed = try loader(shards, workers: after)
        resumed.restore(pos)
        let rest = try batches(resumed, 4)
        #expect(rest.map(\.1) == full[5...].map(\.1) && rest.map(\.0) == full[5...].map(\.0))
        #expect(pos.pass == 1)
    }

    @Test func automaticWorkersLeaveTheComputeCoresAlone() {
        #expect(LoaderOptions.automaticWorkers(computeThreads: 2, cores: 2) == 0)
        #expect(LoaderOptions.automaticWorkers(computeThreads: 2, cores: 3) == 0)   // the reader needs the spare core
        #expect(LoaderOptions.automaticWorkers(computeThreads: 2, cores: 4) == 1)
        #expect(LoaderOptions.automaticWorkers(computeThreads: 8, cores: 64) == 8)
    }

    @Test(arguments: [2, 0])
    func damageIsCountedAndFilterApplies(workers: Int) throws {
        let d = try TempDirectory()
        let shards = try makeShards(d.path, shards: 2, perShard: 5)
        let l = try loader(shards, workers: workers)
        _ = try batches(l, 3, batch: 4)   // 12 samples: the whole first pass (10 good) and 2 more
        let st = l.stats
        #expect(st.skipped["undecodable_image"] == 1 && st.skipped["empty_caption"] == 1 && st.skipped["missing_caption"] == 1, "\(st.skipped)")
        #expect(st.shards.count == 2)
        let odd = try loader(shards, workers: workers, filter: { key, _ in (Int(key) ?? 1) % 2 == 0 })
        let got = try batches(odd, 2, batch: 5).flatMap { b in stride(from: 0, to: b.1.count, by: 4).map { b.1[$0] } }
        #expect(Set(got) == [0, 2, 4, 5, 7, 9], "\(got)")  // keys with an even sample number
    }

    @Test func badShardListsAreClearErrors() throws {
        #expect(throws: DataError.self) { try ShardLoader(options: LoaderOptions(shards: [], imageSize: 8, contextLength: 4), encodeText: Self.encode) }
        #expect(throws: DataError.unreadable("/nonexistent/0.tar", "no such shard")) {
            try ShardLoader(options: LoaderOptions(shards: ["/nonexistent/0.tar"], imageSize: 8, contextLength: 4), encodeText: Self.encode)
        }
        let d = try TempDirectory()
        let w = try TarWriter(path: d.file("empty.tar"))
        try w.add("a.jpg", [1, 2, 3]); try w.add("a.txt", Array("x".utf8))
        try w.finish()
        for workers in [2, 0] {
            #expect { try self.batches(self.loader([d.file("empty.tar")], workers: workers), 1) } throws: { "\($0)".contains("no usable samples") }
        }
    }
}
