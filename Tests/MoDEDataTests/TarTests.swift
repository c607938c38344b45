import Foundation
import Testing
@testable import MoDEData
import MoDETensor

/// A fresh temporary directory for one test.
func temporaryDirectory() -> String {
    let dir = NSTemporaryDirectory() + "mode-data-tests-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func fixturePath(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)!.path
}

func readAll(_ path: String) throws -> (samples: [WebSample], stats: ShardStats) {
    let r = try ShardReader(path: path)
    var out: [WebSample] = []
    while let s = r.next() { out.append(s) }
    return (out, r.stats)
}

@Suite struct TarTests {
    @Test func readsArchivesWrittenByPythonTarfile() throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixturePath("py_expected.json")))) as! [String: Any]
        for name in ["py_pax.tar", "py_gnu.tar"] {
            let want = expected[name] as! [[String: Any]]
            let tar = try TarReader(path: fixturePath(name))
            var got: [TarEntry] = []
            while let e = tar.next() { got.append(e) }
            #expect(got.map(\.name) == want.map { $0["name"] as! String }, "\(name)")
            #expect(got.map(\.data.count) == want.map { $0["size"] as! Int }, "\(name)")
            #expect(tar.damage.isEmpty, "\(name): \(tar.damage)")
            let (samples, stats) = try readAll(fixturePath(name))
            #expect(samples.count == 4 && stats.skippedTotal == 0)
            #expect(samples.allSatisfy { Set($0.fields.keys) == ["jpg", "txt", "json"] })
            var rng = SeededRNG(seed: 0)
            #expect(try sampleCaption(samples[0], rng: &rng).get() == "a caption for sample 0 — ünïcode ✓")
        }
    }

    @Test func writerRoundTripsLongNames() throws {
        let dir = temporaryDirectory()
        let path = dir + "/w.tar"
        let w = try TarWriter(path: path)
        let long = String(repeating: "d/", count: 70) + "k.txt"
        try w.add("k0.txt", Array("hello".utf8))
        try w.add(long, Array(repeating: 7, count: 1000))
        try w.finish()
        let r = try TarReader(path: path)
        #expect(r.next().map { ($0.name, $0.data) }! == ("k0.txt", Array("hello".utf8)))
        let e = r.next()!
        #expect(e.name == long && e.data == Array(repeating: 7, count: 1000))
        #expect(r.next() == nil && r.damage.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp-\(getpid())"))
    }

    /// Builds a shard from members and raw insertions; returns its path.
    func shard(_ dir: String, _ name: String, _ parts: [(String, [UInt8])]) throws -> String {
        let w = try TarWriter(path: dir + "/" + name)
        for (n, b) in parts { if n == "RAW" { try w.addRaw(b) } else { try w.add(n, b) } }
        try w.finish()
        return dir + "/" + name
    }

    @Test func damageIsCountedNotFatal() throws {
        let dir = temporaryDirectory()
        let img = [UInt8](repeating: 1, count: 700)
        let txt = Array("a caption".utf8)
        // garbage between members, then a member whose header checksum is wrong
        var badHeader = TarWriter.header(name: "bad.txt", size: 10, type: "0", mtime: 0)
        badHeader[0] ^= 0xff
        let path = try shard(dir, "damaged.tar", [
            ("s0.jpg", img), ("s0.txt", txt),
            ("RAW", [UInt8](repeating: 0x5a, count: 1024)),
            ("s1.jpg", img), ("s1.txt", txt),
            ("RAW", badHeader + [UInt8](repeating: 0x41, count: 512)),
            ("s2.jpg", img), ("s2.txt", [0xff, 0xfe, 0x41]),        // invalid UTF-8 caption
            ("s3.jpg", img), ("s3.json", Array("{not json".utf8)),   // invalid JSON
            ("s4.jpg", img),                                          // missing caption
            ("s5.jpg", img), ("s5.txt", Array("   ".utf8)),          // empty caption
            ("s6.jpg", img), ("s6.txt", txt), ("s6.txt", txt),       // duplicate field
            ("s7.jpg", img), ("s7.txt", txt),
            ("s0.jpg", img), ("s0.txt", txt),                         // key repeated later
        ])
        let (samples, stats) = try readAll(path)
        #expect(samples.map(\.key) == ["s0", "s1", "s2", "s3", "s4", "s5", "s7"])
        #expect(stats.skipped["bad_header"] == 2, "\(stats.skipped)")  // the garbage run and the bad header
        #expect(stats.skipped["duplicate_key"] == 2, "\(stats.skipped)")
        var rng = SeededRNG(seed: 1)
        let reasons = samples.map { s -> String in
            switch sampleCaption(s, rng: &rng) { case .success: return "ok"; case .failure(let r): return r.rawValue }
        }
        #expect(reasons == ["ok", "ok", "invalid_text", "invalid_json", "missing_caption", "empty_caption", "ok"])
    }

    @Test func truncatedArchivesKeepWhatIsComplete() throws {
        let dir = temporaryDirectory()
        let path = try shard(dir, "full.tar", (0..<5).flatMap { i in
            [("k\(i).jpg", [UInt8](repeating: UInt8(i), count: 600)), ("k\(i).txt", Array("caption \(i)".utf8))]
        })
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // cut inside the 3rd sample's image data, and at every block boundary
        for cut in [512 * 11 + 100] + stride(from: 0, to: bytes.count, by: 512).map({ $0 }) {
            let p = dir + "/cut.tar"
            _ = FileManager.default.createFile(atPath: p, contents: Data(bytes[0..<cut]))
            let (samples, stats) = try readAll(p)
            #expect(samples.count <= 5)
            for s in samples { #expect(s.fields["jpg"]?.count ?? 600 == 600) }
            if cut == 512 * 11 + 100 { #expect(stats.skipped["truncated"] == 1 && samples.count == 2, "\(stats)") }
        }
    }

    @Test func sampleSplitAcrossShardsIsIncompleteInBoth() throws {
        let dir = temporaryDirectory()
        let a = try shard(dir, "a.tar", [("x.jpg", [1, 2, 3])])
        let b = try shard(dir, "b.tar", [("x.txt", Array("cap".utf8)), ("y.jpg", [1]), ("y.txt", Array("c".utf8))])
        let (sa, _) = try readAll(a)
        let (sb, _) = try readAll(b)
        var rng = SeededRNG(seed: 0)
        #expect(sa.count == 1 && sampleCaption(sa[0], rng: &rng) == .failure(.missingCaption))
        #expect(sb.count == 2 && sampleImage(sb[0]) == nil)
    }

    @Test func jsonTextsPicksOneSeeded() throws {
        let s = WebSample(key: "k", shard: "s", fields: ["json": Array(#"{"texts": ["a", "b", "c"]}"#.utf8)])
        var seen = Set<String>()
        var rng = SeededRNG(seed: 3)
        for _ in 0..<50 { seen.insert(try sampleCaption(s, rng: &rng).get()) }
        #expect(seen == ["a", "b", "c"])
    }
}

@Suite struct ShardSpecTests {
    @Test func expandsBraces() throws {
        #expect(try ShardSpec.expand("train/{00000..00003}.tar") == (0...3).map { "train/0000\($0).tar" })
        #expect(try ShardSpec.expand("{a,b}/{8..10}.tar") == ["a/8.tar", "a/9.tar", "a/10.tar", "b/8.tar", "b/9.tar", "b/10.tar"])
        #expect(try ShardSpec.expand("x/{1..2}.tar::y/z.tar") == ["x/1.tar", "x/2.tar", "y/z.tar"])
        #expect(try ShardSpec.expand("s-{a..c}.tar") == ["s-a.tar", "s-b.tar", "s-c.tar"])
        #expect(try ShardSpec.expand("{x,{1..2}}y") == ["xy", "1y", "2y"])
        #expect(throws: ShardSpec.Error.self) { try ShardSpec.expand("a/{1..3.tar") }
        #expect(throws: ShardSpec.Error.self) { try ShardSpec.expand("a/1..3}.tar") }
    }

    @Test func missingShardsAreClearErrors() throws {
        let dir = temporaryDirectory()
        #expect(throws: DataError.noShards(dir + "/{0..2}.tar")) { try resolveShards(dir + "/{0..2}.tar") }
        _ = FileManager.default.createFile(atPath: dir + "/0.tar", contents: Data())
        do {
            _ = try resolveShards(dir + "/{0..2}.tar")
            Issue.record("accepted missing shards")
        } catch let e as DataError {
            #expect(e.description.contains("1.tar") && e.description.contains("2 of 3"))
        }
    }

    @Test func keysFollowWebDatasetRules() {
        #expect(webDatasetKey("a/b.c/000.jpg")! == ("a/b.c/000", "jpg"))
        #expect(webDatasetKey("x/k.seg.JSON")! == ("x/k", "seg.json"))
        #expect(webDatasetKey("noext") == nil)
        #expect(webDatasetKey("dir/.hidden") == nil)
    }
}
