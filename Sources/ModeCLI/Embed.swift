import ArgumentParser
import Foundation
import MoDE

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed captions with a BERT-family sentence encoder: a text file, or every sample of WebDataset shards.",
        discussion: """
        With --text-file: captions one per line into one .safetensors file (--out): `features` \
        (N, D) float32, each row L2-normalised, and `lines` (N) int64, the 1-based line number of \
        each embedded caption. A blank line is an error that names it, unless --skip-blank is \
        given: then it is skipped and counted.

        With --shards: one feature file per shard, FEATDIR/<stem>.safetensors (stem = the shard's \
        name without .tar; the parent folder's name is prefixed, parent_stem, when two shards \
        share a name). Each holds `features` F32 (N, D) L2-normalised, `keys` U8 and `captions` \
        U8 (UTF-8, joined by newlines; line breaks inside captions become spaces), and metadata \
        shard, model, pooling, dimension, count and skipped (JSON counts per reason). The caption \
        is the sample's .txt, else its .json `caption`, else the first of its `texts`; samples \
        without one are skipped and counted. Shards whose output already exists and is valid for \
        this model are skipped, so an interrupted run resumes; files are written atomically. \
        --worker i/N takes the shards whose index (in the resolved list) modulo N is i, so N \
        machines or processes can share a corpus. A progress line goes to standard error; one \
        JSON line (files written, skipped, captions, seconds) to standard output at the end. \
        Memory: one shard's captions and features at a time.

        The model directory is a Hugging Face one (config.json, tokenizer.json or vocab.txt, \
        model.safetensors; sentence-transformers' modules.json and 1_Pooling/config.json choose \
        the pooling, else the BERT pooler when present).
        """)

    @Option(help: "Model directory; default: MODE_MINILM_DIR, else .deps/minilm above the working directory or the executable.")
    var model: String?
    @Option(help: "Captions, one per line (UTF-8).") var textFile: String?
    @Option(help: "WebDataset shards: a path, brace pattern (data/{000..099}.tar) or '::'-joined list.") var shards: String?
    @Option(help: "Output: a .safetensors file with --text-file, a folder (FEATDIR) with --shards.") var out: String
    @Option(help: "Texts per forward pass.") var batch = 64
    @Option(help: "Pooling instead of the model's own: \(BERTPooling.allCases.map(\.rawValue).joined(separator: ", ")).")
    var pooling: BERTPooling?
    @Option(help: "Longest input in tokens, [CLS] and [SEP] included (default: the model's).") var maxLength: Int?
    @Flag(help: "Skip blank lines (and count them) instead of failing (--text-file).") var skipBlank = false
    @Option(help: "With --shards: process only shards whose index % N == i (0-based), as i/N.", transform: WorkerSlice.init(parsing:))
    var worker: WorkerSlice?
    @OptionGroup(title: "Compute") var compute: ComputeOptions

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
        guard (textFile == nil) != (shards == nil) else { throw ValidationError("give exactly one of --text-file and --shards") }
        if worker != nil && shards == nil { throw ValidationError("--worker applies to --shards only") }
    }

    func run() throws {
        try compute.apply()
        let encoder = try SentenceEncoder(directory: SentenceModelLocation.resolve(model), pooling: pooling, maxLength: maxLength)
        if let shards {
            let bar = ProgressBar("embed", total: nil, unit: "captions")
            let summary = try ShardEmbedding.run(shards: resolveShards(shards), outDirectory: out, embedder: encoder, batchSize: batch,
                                                 worker: worker ?? .all) { p in
                if let e = p.estimatedCaptions { bar.total = max(e, p.captions) }
                bar.update(p.captions, note: "shard \(p.shardsDone)/\(p.shardsTotal)")
            }
            bar.finish()
            try printJSONLine(summary.line(out: out))
        } else if let textFile {
            let bar = ProgressBar("embed", total: nil, unit: "captions")
            let result = try TextFileEmbedding.run(textFile: textFile, out: out, encoder: encoder, batch: batch, skipBlank: skipBlank) { done, total in
                bar.total = total
                if done < total { bar.update(done) }  // `finish` draws the last state
            }
            bar.finish(note: result.skippedBlankLines > 0 ? "\(result.skippedBlankLines) blank line\(result.skippedBlankLines == 1 ? "" : "s") skipped" : "")
            try printJSONLine(result)
        }
    }
}

extension BERTPooling: ExpressibleByArgument {}
