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
    var pooling: String?
    @Option(help: "Longest input in tokens, [CLS] and [SEP] included (default: the model's).") var maxLength: Int?
    @Flag(help: "Skip blank lines (and count them) instead of failing (--text-file).") var skipBlank = false
    @Option(help: "With --shards: process only shards whose index % N == i (0-based), as i/N.") var worker: String?
    @Option(help: "Threads (BLAS and parallel loops); default: MODE_THREADS or all available cores.") var threads: Int?

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
        if let pooling, BERTPooling(rawValue: pooling) == nil {
            throw ValidationError("--pooling must be one of \(BERTPooling.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (textFile == nil) != (shards == nil) else { throw ValidationError("give exactly one of --text-file and --shards") }
        if worker != nil && shards == nil { throw ValidationError("--worker applies to --shards only") }
        if let worker { do { _ = try WorkerSlice(parsing: worker) } catch { throw ValidationError("\(error)") } }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        if let threads { try BLAS.setThreads(threads) }
        let dir = try resolveModelDirectory(model)
        let encoder = try SentenceEncoder(directory: dir, pooling: pooling.flatMap(BERTPooling.init(rawValue:)), maxLength: maxLength)
        if let shards {
            try embedShards(shards, encoder: encoder)
            return
        }
        guard let textFile else { return }
        let captions = try CaptionLines.read(textFile, skipBlank: skipBlank)
        let (texts, lines, skipped) = (captions.texts, captions.lines, captions.skipped)
        let bar = ProgressBar("embed", total: texts.count, unit: "captions")
        let features = encoder.embed(texts, batchSize: batch) { done in
            if done < texts.count { bar.update(done) }  // `finish` draws the last state
        }
        bar.finish(note: skipped > 0 ? "\(skipped) blank line\(skipped == 1 ? "" : "s") skipped" : "")
        var w = SafeTensorsWriter()
        w.add("features", features)
        w.add("lines", int64s: lines.map(Int64.init), shape: [lines.count])
        try w.write(to: out, metadata: [
            "model": dir, "pooling": encoder.spec.pooling.rawValue, "max_length": String(encoder.spec.maxLength),
            "count": String(texts.count), "skipped_blank_lines": String(skipped), "text_file": textFile,
        ])
        FileHandle.standardError.write(Data("wrote \(out): features [\(texts.count), \(encoder.dimension)]\n".utf8))
    }

    private func embedShards(_ spec: String, encoder: SentenceEncoder) throws {
        let paths = try resolveShards(spec)
        let slice = try worker.map(WorkerSlice.init(parsing:)) ?? .all
        let bar = ProgressBar("embed", total: nil, unit: "captions")
        let summary = try ShardEmbedding.run(shards: paths, outDirectory: out, embedder: encoder, batchSize: batch,
                                             worker: slice) { p in
            if let e = p.estimatedCaptions { bar.total = max(e, p.captions) }
            bar.update(p.captions, note: "shard \(p.shardsDone)/\(p.shardsTotal)")
        }
        bar.finish()
        try printJSONLine([
            "out": out, "files_written": summary.written.count, "already_done": summary.alreadyDone,
            "captions": summary.captions, "skipped": summary.skipped, "seconds": (summary.seconds * 100).rounded() / 100,
        ])
    }
}

/// `explicit`, or the default caption-encoder location; a clear error when there is none.
func resolveModelDirectory(_ explicit: String?) throws -> String {
    if let explicit { return explicit }
    guard let dir = SentenceModelLocation.defaultMiniLM() else {
        throw ValidationError("no model given and all-MiniLM-L6-v2 not found (MODE_MINILM_DIR or .deps/minilm); run scripts/fetch_minilm.sh or pass --model DIR")
    }
    return dir
}
