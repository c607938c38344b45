import Foundation
import Testing
import TestSupport
import MoDEClustering
import MoDEData
import MoDESynth
import MoDENN
@testable import MoDE
import MoDEFormats

/// Runs the real `mode` executable (built beside the test bundle) and kills it with SIGKILL.
@Suite(.serialized) struct TrainProcessTests {
    /// The `mode` binary next to this test bundle.
    static var modeBinary: String {
        let exe = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
        let candidates = [exe.deletingLastPathComponent(), Bundle(for: Marker.self).bundleURL, Bundle(for: Marker.self).bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("mode").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }
    final class Marker {}

    /// A CLIP small enough for a debug build: one layer per tower, 16 px images.
    static let config = """
        {"embed_dim": 16, "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "head_width": 8},
         "text_cfg": {"context_length": 8, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1}}
        """

    func start(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.modeBinary)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func losses(_ run: String) throws -> [Int: Float] {
        let text = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        var out: [Int: Float] = [:]
        for line in text.split(separator: "\n") {
            let m = try JSONDecoder().decode(StepMetrics.self, from: Data(line.utf8))
            out[m.step] = m.loss
        }
        return out
    }

    @Test func killedRunResumesToTheUninterruptedLosses() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.modeBinary), "no mode binary at \(Self.modeBinary)")
        let dir = try TempDirectory()
        try Self.config.write(toFile: dir.file("cfg.json"), atomically: true, encoding: .utf8)
        let common = ["train", "--config", dir.file("cfg.json"), "--batch", "8", "--steps", "14", "--save-every", "2",
                      "--warmup", "3", "--lr", "2e-3", "--seed", "4", "--threads", "1"]
        let a = try start(common + ["--out", dir.file("a")])
        a.waitUntilExit()
        #expect(a.terminationStatus == 0)
        let reference = try losses(dir.file("a"))
        #expect(reference.count == 14)

        // Kill at several moments (mid-step, mid-checkpoint, whatever the timing gives), resuming each time.
        let run = dir.file("b")
        var p = try start(common + ["--out", run])
        var kills = 0
        for delay in [0.15, 0.35, 0.6] {
            Thread.sleep(forTimeInterval: delay)
            if !p.isRunning { break }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            kills += 1
            let latest = CheckpointStore(runDirectory: run).latest()
            p = try start(common + ["--out", run] + (latest == nil && !FileManager.default.fileExists(atPath: run + "/params.json") ? [] : ["--resume"]))
        }
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "resumed run failed")
        #expect(kills >= 1, "the run finished before it could be killed")
        let resumed = try losses(run)
        #expect(resumed.keys.sorted() == Array(1...14))
        // Same binary, same thread count: the BLAS is deterministic here, so equal to 1e-5 at most.
        for (step, loss) in reference {
            let r = resumed[step] ?? .nan
            #expect(abs(r - loss) <= 1e-5 * abs(loss), "step \(step): \(r) vs \(loss) (after \(kills) kills)")
        }
    }

    /// MoDE's experts are independent: trained in separate processes, concurrently and in reverse
    /// order, one killed and resumed, they end with the same weights (hence the same ensemble) as
    /// uninterrupted sequential training.
    @Test func expertsTrainedAsynchronouslyEqualSequentialOnes() throws {
        let dir = try TempDirectory()
        try Self.config.write(toFile: dir.file("cfg.json"), atomically: true, encoding: .utf8)
        let spec = try smallSynthCorpus(dir.file("corpus"), pairs: 240, shardSize: 80, tasksPerClass: 0)
        _ = try ShardEmbedding.run(shards: try resolveShards(spec), outDirectory: dir.file("feat"), embedder: TopicEmbedder())
        var options = ClusterOptions()
        options.fine = 6
        options.coarse = 2
        options.sample = 1
        _ = try FeatureClustering.run(features: dir.file("feat"), out: dir.file("clusters"), options: options)
        _ = try ShardAssignment.run(features: dir.file("feat"), clusters: dir.file("clusters/clusters.safetensors"), out: dir.file("assign"))

        let common = ["train", "--config", dir.file("cfg.json"), "--data", spec, "--batch", "8", "--save-every", "2",
                      "--warmup", "2", "--lr", "2e-3", "--seed", "3", "--threads", "1", "--workers", "1"]
        func run(_ args: [String]) throws {
            let p = try start(args)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "mode \(args.joined(separator: " ")) failed")
        }
        try run(common + ["--steps", "4", "--out", dir.file("seed")])
        func expert(_ c: Int, _ out: String) -> [String] {
            common + ["--steps", "24", "--init", dir.file("seed"), "--expert", String(c), "--clusters", dir.file("clusters"),
                      "--assign", dir.file("assign"), "--out", out]
        }
        // Sequential, uninterrupted.
        try run(expert(0, dir.file("seq0")))
        try run(expert(1, dir.file("seq1")))
        // Concurrent, reverse order; expert 0 killed and resumed until it finishes.
        let p1 = try start(expert(1, dir.file("async1")))
        var p0 = try start(expert(0, dir.file("async0")))
        var kills = 0
        for delay in [0.2, 0.3, 0.4] {
            Thread.sleep(forTimeInterval: delay)
            if !p0.isRunning { break }
            kill(p0.processIdentifier, SIGKILL)
            p0.waitUntilExit()
            kills += 1
            let started = FileManager.default.fileExists(atPath: dir.file("async0/params.json"))
            p0 = try start(expert(0, dir.file("async0")) + (started ? ["--resume"] : []))
        }
        p0.waitUntilExit()
        p1.waitUntilExit()
        #expect(p0.terminationStatus == 0 && p1.terminationStatus == 0)
        #expect(kills >= 1, "expert 0 finished before it could be killed")
        for c in 0..<2 {
            let a = try SafeTensorsFile(path: CheckpointStore.resolveModelFile(dir.file("seq\(c)")))
            let b = try SafeTensorsFile(path: CheckpointStore.resolveModelFile(dir.file("async\(c)")))
            #expect(a.names.sorted() == b.names.sorted())
            var worst: Float = 0
            for name in a.names {
                let x = try a.tensor(name).array, y = try b.tensor(name).array
                for (u, v) in zip(x, y) { worst = max(worst, abs(u - v) / max(1, abs(u))) }
            }
            // One thread, same binary: resume is exact here; 1e-5 is the resume tolerance.
            #expect(worst <= 1e-5, "expert \(c): weights differ by \(worst) (after \(kills) kills)")
        }
        // The two experts saw different data: their weights differ.
        let w0 = try SafeTensorsFile(path: CheckpointStore.resolveModelFile(dir.file("seq0"))).tensor("text_projection").array
        let w1 = try SafeTensorsFile(path: CheckpointStore.resolveModelFile(dir.file("seq1"))).tensor("text_projection").array
        #expect(w0 != w1)
    }

    /// The pipeline's commands as a user runs them, on the tiny random-weight BERT: embed over
    /// shards → cluster → assign → train two experts → experts add/list → route. Checks exit
    /// codes, the files each command promises, resumability of embed, and clear errors.
    @Test func pipelineCommandsRunAsProcesses() throws {
        let dir = try TempDirectory()
        let bert = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MoDEModelsTests/Fixtures/tiny_bert").path
        try Self.config.write(toFile: dir.file("cfg.json"), atomically: true, encoding: .utf8)
        let spec = try smallSynthCorpus(dir.file("corpus"), pairs: 160, shardSize: 80, tasksPerClass: 1)

        /// Runs `mode ARGS`; returns (exit status, stdout, stderr).
        func mode(_ args: [String]) throws -> (Int32, String, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.modeBinary)
            p.arguments = args
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }
        func ok(_ args: [String]) throws -> String {
            let (status, out, err) = try mode(args)
            #expect(status == 0, "mode \(args.joined(separator: " ")) failed: \(err.suffix(400))")
            return out
        }
        let fm = FileManager.default
        _ = try ok(["embed", "--shards", spec, "--out", dir.file("feat"), "--model", bert, "--threads", "1"])
        #expect(fm.fileExists(atPath: dir.file("feat/00000.safetensors")) && fm.fileExists(atPath: dir.file("feat/00001.safetensors")))
        let again = try ok(["embed", "--shards", spec, "--out", dir.file("feat"), "--model", bert, "--threads", "1"])
        #expect(again.contains("\"files_written\":0") && again.contains("\"already_done\":2"), "second embed should skip both shards: \(again)")
        _ = try ok(["cluster", "--features", dir.file("feat"), "--fine", "8", "--coarse", "2", "--sample", "1", "--out", dir.file("clusters")])
        for f in ["clusters.safetensors", "clusters.json", "report.md"] { #expect(fm.fileExists(atPath: dir.file("clusters/" + f)), "\(f)") }
        _ = try ok(["assign", "--features", dir.file("feat"), "--clusters", dir.file("clusters"), "--out", dir.file("assign")])
        #expect(fm.fileExists(atPath: dir.file("assign/counts.json")))
        let train = ["train", "--config", dir.file("cfg.json"), "--data", spec, "--batch", "8", "--warmup", "1", "--threads", "1", "--workers", "0"]
        _ = try ok(train + ["--steps", "2", "--out", dir.file("seed")])
        for c in 0..<2 {
            _ = try ok(train + ["--steps", "2", "--init", dir.file("seed"), "--expert", String(c), "--clusters", dir.file("clusters"),
                                "--assign", dir.file("assign"), "--out", dir.file("e\(c)")])
            _ = try ok(["experts", "add", "--manifest", dir.file("experts.json"), "--run", dir.file("e\(c)"),
                        "--clusters", dir.file("clusters"), "--expert", String(c), "--embedder", bert])
        }
        let list = try ok(["experts", "list", "--manifest", dir.file("experts.json")])
        #expect(list.contains("expert-0") && list.contains("expert-1"))
        let manifest = try ExpertManifest.load(dir.file("experts.json"))
        #expect(manifest.experts.count == 2 && Set(manifest.experts.flatMap(\.fine)).count == 8)
        let routed = try ok(["route", "--experts", dir.file("experts.json"), "--tasks", dir.file("corpus/tasks"), "--task", "shapes", "--json"])
        let line = routed.split(separator: "\n").first.map(String.init) ?? ""
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(obj != nil, "route --json printed \(routed)")

        // Clear errors, non-zero exits, nothing written.
        let (s1, _, e1) = try mode(["assign", "--features", dir.file("nope"), "--clusters", dir.file("clusters"), "--out", dir.file("a2")])
        #expect(s1 != 0 && e1.contains("nope"))
        let (s2, _, e2) = try mode(train + ["--steps", "2", "--expert", "5", "--clusters", dir.file("clusters"), "--assign", dir.file("assign"), "--out", dir.file("bad")])
        #expect(s2 != 0 && e2.contains("expert 5"))
        let (s3, _, e3) = try mode(["cluster", "--features", dir.file("feat"), "--fine", "100000", "--coarse", "2", "--sample", "1", "--out", dir.file("c2")])
        #expect(s3 != 0 && !e3.isEmpty && !fm.fileExists(atPath: dir.file("c2")))
    }
}

/// A synthetic corpus of 16 px images in `path`; returns its shard specification.
func smallSynthCorpus(_ path: String, pairs: Int, shardSize: Int, tasksPerClass: Int) throws -> String {
    var cfg = SynthConfig()
    cfg.pairs = pairs
    cfg.shardSize = shardSize
    cfg.size = 16
    cfg.tasksPerClass = tasksPerClass
    try SynthCorpus.generate(cfg, into: path)
    let last = (pairs + shardSize - 1) / shardSize - 1
    return path + "/train/{00000..\(String(format: "%05d", last))}.tar"
}
