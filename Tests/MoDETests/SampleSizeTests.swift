import Foundation
import MoDEClustering
import MoDETensor
import Testing
import TestSupport
@testable import MoDE

@Suite struct SampleSizeTests {
    @Test func parsesFractionsRowCountsAndAuto() throws {
        #expect(try SampleSize(parsing: "0.05") == .fraction(0.05))
        #expect(try SampleSize(parsing: "1") == .fraction(1))
        #expect(try SampleSize(parsing: "1.0") == .fraction(1))
        #expect(try SampleSize(parsing: "2") == .rows(2))
        #expect(try SampleSize(parsing: "50000") == .rows(50000))
        #expect(try SampleSize(parsing: "auto") == .automatic)
        for bad in ["0", "0.0", "-1", "-0.5", "2.5", "1e5", "nan", "inf", "abc", "", "50000rows"] {
            let e = #expect(throws: PipelineError.self, "\(bad)") { try SampleSize(parsing: bad) }
            #expect(e?.description == "'\(bad)' is neither a fraction of the rows in (0, 1] (e.g. 0.05; 1 = all) nor a whole number of rows above 1 (e.g. 50000)")
        }
    }

    /// Expected counts worked out by hand from the rule: automatic = min(N, max(256 m, round(0.05 N))).
    @Test func resolvesTheRowCount() throws {
        #expect(try SampleSize.automatic.rows(total: 10_000, fine: 64) == 10_000)          // 256·64 = 16384 > N
        #expect(try SampleSize.automatic.rows(total: 100_000, fine: 64) == 16_384)         // 16384 > 5000
        #expect(try SampleSize.automatic.rows(total: 2_000_000, fine: 1024) == 262_144)    // 262144 > 100000
        #expect(try SampleSize.automatic.rows(total: 10_000_000, fine: 1024) == 500_000)   // 5% wins
        #expect(try SampleSize.automatic.rows(total: 0, fine: 4) == 0)
        #expect(try SampleSize.fraction(0.05).rows(total: 10_000, fine: 64) == 500)
        #expect(try SampleSize.fraction(1).rows(total: 10_000, fine: 64) == 10_000)
        #expect(try SampleSize.fraction(0.333).rows(total: 10, fine: 1) == 3)              // round(3.33)
        #expect(try SampleSize.rows(50_000).rows(total: 10_000, fine: 64) == 10_000)
        #expect(try SampleSize.rows(5_000).rows(total: 10_000, fine: 64) == 5_000)
        #expect(throws: PipelineError.self) { try SampleSize.fraction(1.5).rows(total: 10, fine: 1) }
        #expect(throws: PipelineError.self) { try SampleSize.rows(1).rows(total: 10, fine: 1) }
        // Literals read as on the command line.
        let all: SampleSize = 1, count: SampleSize = 300, fraction: SampleSize = 0.25
        #expect(all == .fraction(1) && count == .rows(300) && fraction == .fraction(0.25))
    }

    @Test func warnsUnder39RowsPerCentre() throws {
        // 500 rows for 64 centres: 7.8 per centre (the 5% of 10,000 captions of the report).
        #expect(SampleSize.warning(rows: 500, fine: 64)
                == "500 sampled rows for 64 fine centres is 7.8 per centre, under 39 (where FAISS warns): the centres are poorly estimated; raise --sample or lower --fine")
        #expect(SampleSize.warning(rows: 39 * 64, fine: 64) == nil)
        #expect(SampleSize.warning(rows: 39 * 64 - 1, fine: 64) != nil)
    }

    /// 100 random rows in two files.
    func features(_ dir: TempDirectory) throws -> String {
        let feat = dir.file("feat")
        try FileManager.default.createDirectory(atPath: feat, withIntermediateDirectories: true)
        var rng = SeededRNG(seed: 2)
        for (name, n) in [("a", 60), ("b", 40)] {
            let x = Tensor(shape: [n, 4])
            for i in 0..<x.count { x.data[i] = rng.nextNormal() }
            try PipelineTests.writeFeatures(feat + "/\(name).safetensors", x)
        }
        return feat
    }

    @Test func clusteringRecordsTheRowsAndTheWarningAndSplitRedrawsThem() throws {
        let dir = try TempDirectory()
        let feat = try features(dir)
        var o = PipelineTests.smallOptions(fine: 4, coarse: 2)
        o.sample = .rows(40)  // 10 per centre
        var heard: [String] = []
        let s = try FeatureClustering.run(features: feat, out: dir.file("c"), options: o, warn: { heard.append($0) })
        let warning = "40 sampled rows for 4 fine centres is 10.0 per centre, under 39 (where FAISS warns): the centres are poorly estimated; raise --sample or lower --fine"
        #expect(heard == [warning] && s.warnings == [warning] && s.sampleRows == 40)
        let info = try FeatureClustering.readSummary(dir.file("c"))
        #expect(info.warnings == [warning] && info.sampleRows == 40 && info.options.sample == .rows(40))
        let raw = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("c/clusters.json")))) as? [String: Any]
        #expect((raw?["options"] as? [String: Any])?["sample"] as? Int == 40)

        // The split draws the same 40 rows: the counts per fine centre are the clustering's.
        _ = try FeatureClustering.split(clusters: dir.file("c"), cluster: 0, parts: 2, out: dir.file("s"), features: feat)
        let split = try FeatureClustering.readSummary(dir.file("s"))
        #expect(split.sampleRows == 40)
        #expect(split.samplePerFine == info.samplePerFine)
        #expect(split.samplePerFine?.reduce(0, +) == 40)
        // A folder that changed cannot give the same sample.
        try PipelineTests.writeFeatures(feat + "/c.safetensors", Tensor(shape: [1, 4], repeating: 1))
        let changed = #expect(throws: PipelineError.self) {
            try FeatureClustering.split(clusters: dir.file("c"), cluster: 0, parts: 2, out: dir.file("s2"), features: feat)
        }
        #expect(changed?.description.contains("holds 101 feature rows, but the clustering sampled from 100") == true)

        // By default, all 100 rows (256 × 4 > 100): 25 per centre, still under 39.
        try FileManager.default.removeItem(atPath: feat + "/c.safetensors")
        o.sample = .automatic
        let d = try FeatureClustering.run(features: feat, out: dir.file("d"), options: o)
        #expect(d.sampleRows == 100 && d.warnings.count == 1 && d.warnings[0].hasPrefix("100 sampled rows for 4 fine centres is 25.0 per centre"))
    }

    @Test func commandLineParsesWarnsAndPrintsTheVersion() throws {
        #expect(FileManager.default.isExecutableFile(atPath: TrainProcessTests.modeBinary), "no mode binary at \(TrainProcessTests.modeBinary)")
        func mode(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TrainProcessTests.modeBinary)
            p.arguments = args
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, o, e)
        }
        let version = try mode(["--version"])
        #expect(version.status == 0 && version.out == MoDEVersion.current + "\n")
        let info = try mode(["info", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(info.out.utf8)) as? [String: Any]
        #expect(json?["version"] as? String == MoDEVersion.current)

        let dir = try TempDirectory()
        let feat = try features(dir)
        let bad = try mode(["cluster", "--features", feat, "--out", dir.file("x"), "--fine", "4", "--coarse", "2", "--sample", "2.5"])
        #expect(bad.status != 0 && bad.err.contains("'2.5' is neither a fraction of the rows in (0, 1]"), "\(bad.err)")
        let run = try mode(["cluster", "--features", feat, "--out", dir.file("c"), "--fine", "4", "--coarse", "2", "--iters", "3",
                            "--coarse-iters", "3", "--threads", "1"])
        #expect(run.status == 0)
        #expect(run.err.contains("warning: 100 sampled rows for 4 fine centres is 25.0 per centre, under 39"))
        let line = try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any]
        #expect(line?["sample_rows"] as? Int == 100 && (line?["warnings"] as? [String])?.count == 1)
    }
}
