import Foundation
import MoDEData
import MoDEFormats
import MoDETensor
import Testing
import TestSupport
@testable import MoDE

/// Runs `mode ARGS` (the binary beside the tests); returns (exit status, stdout, stderr).
func runMode(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: TrainProcessTests.modeBinary)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read stderr on another thread so that neither pipe can fill up and block the child.
    let errData = LockedData()
    let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !errData.isSet { usleep(1000) }
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: errData.value, as: UTF8.self))
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var done = false
    func set(_ d: Data) { lock.lock(); data = d; done = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return done }
    var value: Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// Training on damaged shards, as a user runs it: every kind of damage is skipped and counted by
/// reason, reported at the end of each pass (terminal, data_stats.json) and of the run (final JSON
/// line); the reading-stage counts equal what `mode embed --shards` counts on the same shards,
/// and a pass skipping more than --max-skip-fraction stops the run with a clear error.
@Suite(.serialized) struct DamagedShardsProcessTests {
    /// Two shards built by hand. Shard 0: 24 good pairs, then one of each fault: a run of garbage
    /// between members (bad_header), a caption that is not UTF-8 (invalid_text), a .json that is
    /// not JSON (invalid_json), no caption (missing_caption), a blank caption (empty_caption), a
    /// repeated field (duplicate_key), a corrupt JPEG (undecodable_image) and no image
    /// (missing_image). Shard 1: 16 good pairs, the file cut inside the last image (truncated;
    /// that pair is lost).
    static func damagedShards(_ dir: String) throws -> String {
        var rng = SeededRNG(seed: 5)
        func image() -> [UInt8] { encodeJPEG(smoothRandomImage(width: 16, height: 16, grid: 3, rng: &rng), quality: 90) }
        let w0 = try TarWriter(path: dir + "/0.tar")
        for i in 0..<24 {
            try w0.add(String(format: "g%03d.jpg", i), image())
            try w0.add(String(format: "g%03d.txt", i), Array("a photo of thing \(i)".utf8))
        }
        try w0.addRaw([UInt8](repeating: 0x5A, count: 1024))
        try w0.add("u0.jpg", image()); try w0.add("u0.txt", [0xFF, 0xFE, 0x41])
        try w0.add("u1.jpg", image()); try w0.add("u1.json", Array("{not json".utf8))
        try w0.add("u2.jpg", image())
        try w0.add("u3.jpg", image()); try w0.add("u3.txt", Array("   ".utf8))
        try w0.add("u4.jpg", [0xFF, 0xD8, 1, 2, 3]); try w0.add("u4.txt", Array("a broken image".utf8))
        try w0.add("u5.txt", Array("a caption without an image".utf8))
        try w0.add("u6.jpg", image()); try w0.add("u6.txt", Array("twice".utf8)); try w0.add("u6.txt", Array("twice".utf8))
        try w0.finish()
        let w1 = try TarWriter(path: dir + "/1.tar")
        for i in 0..<16 {
            try w1.add(String(format: "h%03d.jpg", i), image())
            try w1.add(String(format: "h%03d.txt", i), Array("another photo \(i)".utf8))
        }
        try w1.finish()
        // Cut the archive 100 bytes into the last pair's image data (after its 512-byte header).
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/1.tar")))
        let name = Array("h015.jpg".utf8)
        let header = try #require(stride(from: 0, to: bytes.count, by: 512).first { Array(bytes[$0..<($0 + name.count)]) == name })
        try Data(bytes[0..<(header + 512 + 100)]).write(to: URL(fileURLWithPath: dir + "/1.tar"))
        return dir + "/{0..1}.tar"
    }

    /// The reasons each stage counts, written out from the construction above.
    static let readingSkips = ["bad_header": 1, "invalid_text": 1, "invalid_json": 1, "missing_caption": 1, "empty_caption": 1,
                               "duplicate_key": 1, "truncated": 1]
    static let trainingOnlySkips = ["undecodable_image": 1, "missing_image": 1]

    @Test func skipsAreCountedReportedAndEqualEmbedsCounts() throws {
        let dir = try TempDirectory()
        let spec = try Self.damagedShards(dir.path)
        try TrainProcessTests.config.write(toFile: dir.file("cfg.json"), atomically: true, encoding: .utf8)
        let bert = fixturePath("MoDEModelsTests", "tiny_bert")

        // mode embed: the reading-stage skips, per shard in the feature files and in all on stdout.
        let embed = try runMode(["embed", "--shards", spec, "--out", dir.file("feat"), "--model", bert, "--threads", "1"])
        #expect(embed.status == 0, "\(embed.err.suffix(500))")
        let line = try JSONDecoder().decode(EmbedSummary.Line.self, from: Data(embed.out.utf8))
        #expect(line.skipped == Self.readingSkips, "embed counted \(line.skipped)")
        #expect(line.captions == 24 + 15 + 2)  // u4 and u5 have captions; their images are not embed's business

        // mode train: 39 usable pairs a pass; 6 steps of 8 end pass 0 and begin pass 1.
        let args = ["train", "--config", dir.file("cfg.json"), "--data", spec, "--batch", "8", "--steps", "6", "--warmup", "1",
                    "--threads", "1", "--workers", "0", "--out", dir.file("run")]
        let train = try runMode(args)
        #expect(train.status == 0, "\(train.err.suffix(800))")
        let expected = Self.readingSkips.merging(Self.trainingOnlySkips) { a, _ in a }
        let stats = try JSONFile.read(DataStatsFile.self, from: dir.file("run/data_stats.json"))
        let pass0 = try #require(stats.passes.first)
        #expect(pass0.complete && pass0.used == 39 && pass0.filtered == 0)
        #expect(pass0.skipped == expected, "train counted \(pass0.skipped)")
        // The reading-stage counts equal embed's; training adds the image checks.
        #expect(pass0.skipped.filter { Self.readingSkips[$0.key] != nil } == line.skipped)
        // Terminal: the pass's counts and a warning (9 of 48 read = 18.75% > 1%).
        #expect(train.err.contains("pass 0: 39 used, 9 skipped (18.75%)"), "\(train.err.suffix(800))")
        #expect(train.err.contains("warning: pass 0 skipped 18.75% of the samples it read (9 of 48)"))
        // Final JSON line: the run's totals (pass 1 in progress).
        let summary = try JSONDecoder().decode(TrainingSummary.self, from: Data(train.out.utf8))
        #expect(summary.step == 6 && summary.data?.used == 48)
        #expect(summary.data.map { $0.skipped.filter { Self.readingSkips[$0.key] != nil } } == Self.readingSkips)
        // The statistics survive a resume: the checkpoint holds them.
        let state = try TrainerState.read(checkpoint: try #require(CheckpointStore(runDirectory: dir.file("run")).latest()))
        #expect(state.dataStats?.passes.first == pass0)

        // Above --max-skip-fraction the run stops with an error naming the pass and the reasons.
        let strict = try runMode(Array(args.dropLast()) + [dir.file("strict"), "--max-skip-fraction", "0.1"])
        #expect(strict.status != 0)
        #expect(strict.err.contains("pass 0 skipped 18.8% of the samples it read (limit 10.0%, --max-skip-fraction)")
                && strict.err.contains("truncated 1"), "\(strict.err.suffix(600))")
    }
}
