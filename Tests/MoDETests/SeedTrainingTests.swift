import Foundation
import Testing
import TestSupport
import MoDEClustering
@testable import MoDE
import MoDEFormats

/// Data experts seeded from imported pretrained weights: `mode train --init` from the torch-written
/// fixtures of tools/clip_seed_fixtures.py (one weights set as an open_clip training checkpoint,
/// a transformers folder and an open_clip hub folder with a PyTorch .bin), then resumed.
@Suite(.serialized) struct SeedTrainingTests {
    static let seeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MoDEModelsTests/Fixtures/checkpoints/seed").path
    /// Each kind: its path and the --config it needs (the training checkpoint carries none).
    static let kinds: [(name: String, path: String, config: String?)] = [
        ("pt", seeds + "/epoch_1.pt", seeds + "/seed.json"), ("hf", seeds + "/hf", nil), ("bin", seeds + "/open_clip_bin", nil),
    ]

    /// Runs `mode ARGS`; returns (exit status, stderr).
    func mode(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TrainProcessTests.modeBinary)
        p.arguments = args
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    func losses(_ run: String) throws -> [Float] { try StepMetrics.read(run + "/metrics.jsonl").map(\.loss) }

    @Test func expertsTrainFromEachImportedSeedAndResume() throws {
        let dir = try TempDirectory()
        let spec = try smallSynthCorpus(dir.file("corpus"), pairs: 160, shardSize: 80, tasksPerClass: 0)
        _ = try ShardEmbedding.run(shards: try resolveShards(spec), outDirectory: dir.file("feat"), embedder: TopicEmbedder())
        var options = ClusterOptions()
        (options.fine, options.coarse, options.sample) = (6, 2, 1)
        _ = try FeatureClustering.run(features: dir.file("feat"), out: dir.file("clusters"), options: options)
        _ = try ShardAssignment.run(features: dir.file("feat"), clusters: dir.file("clusters/clusters.safetensors"), out: dir.file("assign"))

        let common = ["train", "--data", spec, "--batch", "8", "--steps", "6", "--save-every", "2", "--warmup", "2",
                      "--lr", "2e-3", "--seed", "3", "--threads", "1", "--workers", "1",
                      "--expert", "1", "--clusters", dir.file("clusters"), "--assign", dir.file("assign")]
        func request(_ kind: (name: String, path: String, config: String?), out: String) -> TrainingRequest {
            var o = TrainingOptions(batch: 8, steps: 6)
            (o.saveEvery, o.warmup, o.lr, o.seed) = (2, 2, 2e-3, 3)
            var r = TrainingRequest(config: kind.config, runDirectory: out, options: o)
            (r.data, r.workers, r.initCheckpoint) = (spec, 1, kind.path)
            r.expert = ExpertRequest(clusters: [1], clusterFolder: dir.file("clusters"), assignFolder: dir.file("assign"))
            return r
        }

        var first: [String: [Float]] = [:]
        for kind in Self.kinds {
            // The command a user runs: the config comes from the folder unless the file has none.
            let out = dir.file("cli-" + kind.name)
            let (status, err) = try mode(common + ["--init", kind.path, "--out", out] + (kind.config.map { ["--config", $0] } ?? []))
            #expect(status == 0, "\(kind.name): \(err.suffix(600))")
            let initLine = err.split(separator: "\n").first { $0.hasPrefix("init: ") }.map(String.init) ?? ""
            let expected = ["pt": "init: open_clip (PyTorch)", "hf": "init: transformers CLIP (PyTorch)", "bin": "init: open_clip (PyTorch)"][kind.name]!
            #expect(initLine.hasPrefix(expected) && initLine.contains("activation QuickGELU"), "\(kind.name): \(initLine)")
            let cli = try losses(out)
            #expect(cli.count == 6)
            first[kind.name] = cli

            // The same run stopped after step 3 (its last checkpoint is step 2), then continued by
            // `mode train … --resume` with the same arguments: the uninterrupted losses.
            let run = dir.file("resumed-" + kind.name)
            var opened: String?
            let (trainer, _) = try TrainingRun.make(request(kind, out: run)) { if case .initialised(let d) = $0 { opened = d } }
            #expect(opened.map { initLine.hasSuffix($0) } == true)
            try trainer.run(until: 3)
            let (resumeStatus, resumeErr) = try mode(common + ["--init", kind.path, "--out", run, "--resume"]
                                                     + (kind.config.map { ["--config", $0] } ?? []))
            #expect(resumeStatus == 0 && resumeErr.contains("resuming at step 2"), "\(kind.name): \(resumeErr.suffix(600))")
            let resumed = try losses(run)
            #expect(try StepMetrics.read(run + "/metrics.jsonl").map(\.step) == Array(1...6))
            for (a, b) in zip(resumed, cli) { #expect(abs(a - b) <= 1e-5 * abs(b), "\(kind.name): resumed \(resumed) vs \(cli)") }
        }
        // One weights set in three files: the same training; a random start trains otherwise.
        for kind in ["hf", "bin"] { #expect(first[kind] == first["pt"], "\(kind): \(first[kind] ?? []) vs pt \(first["pt"] ?? [])") }
        let (status, err) = try mode(common + ["--config", Self.seeds + "/seed.json", "--out", dir.file("random")])
        #expect(status == 0, "\(err.suffix(600))")
        #expect(try losses(dir.file("random"))[0] != first["pt"]?[0])
    }

    /// A seed whose vocabulary is smaller than the CLIP tokenizer's is refused before training
    /// (its token embedding would be indexed past its end), and a .pt without a config needs --config.
    @Test func seedsTheTokenizerCannotFeedAreRefused() throws {
        let dir = try TempDirectory()
        let small = URL(fileURLWithPath: Self.seeds).deletingLastPathComponent().appendingPathComponent("open_clip").path
        let spec = try smallSynthCorpus(dir.file("corpus"), pairs: 16, shardSize: 16, tasksPerClass: 0)
        let common = ["train", "--data", spec, "--batch", "4", "--steps", "1", "--threads", "1"]
        let (s1, e1) = try mode(common + ["--init", small, "--out", dir.file("a")])
        #expect(s1 != 0 && e1.contains("vocabulary (64 tokens") && e1.contains("(49408)"), "\(e1)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("a")))
        let (s2, e2) = try mode(common + ["--init", Self.seeds + "/epoch_1.pt", "--out", dir.file("b")])
        #expect(s2 != 0 && e2.contains("epoch_1.pt: the checkpoint carries no model config"), "\(e2)")
        let (s3, e3) = try mode(common + ["--out", dir.file("c")])
        #expect(s3 != 0 && e3.contains("--config"), "\(e3)")
    }
}
