import Foundation
import Testing
import TestSupport
import NN
@testable import MoDE

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
}
