import ArgumentParser
import MoDE
import Foundation

struct BenchEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Caption embedding throughput (sentences/s), on captions made like the peer script's.",
        discussion: "Peer: ../shared/peers/sentence_embed.py (sentence-transformers). Same word list, 5–16 words per caption, a warm-up batch, then all captions timed.")

    @Option(help: "Model directory; default: MODE_MINILM_DIR, else .deps/minilm.") var model: String?
    @Option(help: "Captions to embed.") var n = 4096
    @Option(help: "Texts per forward pass.") var batch = 64
    @OptionGroup var options: BenchOptions

    func validate() throws {
        guard n > 0, batch > 0 else { throw ValidationError("--n and --batch must be positive") }
    }

    /// `n` captions of 5–16 words drawn from the peer script's word list.
    static func captions(_ n: Int, seed: UInt64 = 0) -> [String] {
        let words = ("a photo of the red blue small large dog cat car tree house beach sunset city street person "
            + "woman man child playing running sitting on in with near under food plate pizza bird flower "
            + "mountain river boat airplane train bicycle logo icon drawing painting vintage poster sale").split(separator: " ").map(String.init)
        var rng = SeededRNG(seed: seed)
        return (0..<n).map { _ in
            (0..<(5 + rng.nextInt(12))).map { _ in words[rng.nextInt(words.count)] }.joined(separator: " ")
        }
    }

    func run() throws {
        let blas = try options.setUp()
        let dir = try SentenceModelLocation.resolve(model)
        let encoder = try SentenceEncoder(directory: dir)
        let caps = Self.captions(n)
        _ = encoder.embed(Array(caps.prefix(batch)), batchSize: batch)
        let t = DispatchTime.now().uptimeNanoseconds
        let features = encoder.embed(caps, batchSize: batch)
        let dt = seconds(since: t)
        precondition(features.shape == [n, encoder.dimension])
        let url = URL(fileURLWithPath: dir).standardizedFileURL
        try printJSONLine([
            "bench": "embed", "model": [url.deletingLastPathComponent().lastPathComponent, url.lastPathComponent],
            "n": n, "batch": batch, "threads": blas.threads, "blas": blas.backend.rawValue,
            "pooling": encoder.spec.pooling.rawValue,
            "sentences_per_s": rounded(Double(n) / dt, 1), "peak_rss_mib": rounded(peakRSSMiB(), 1),
        ])
    }
}
