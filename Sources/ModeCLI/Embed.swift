import ArgumentParser
import Foundation
import Models
import NN
import Tensor

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed captions (one per line) with a BERT-family sentence encoder into a safetensors file.",
        discussion: """
        Writes `features` (N, D) float32, each row L2-normalised, and `lines` (N) int64, the 1-based \
        line number of each embedded caption. A blank (empty or whitespace-only) line is an error that \
        names it, unless --skip-blank is given: then it is skipped and counted, and `lines` says which \
        line each row came from. The model directory is a Hugging Face one (config.json, \
        tokenizer.json or vocab.txt, model.safetensors; sentence-transformers' modules.json and \
        1_Pooling/config.json choose the pooling, else the BERT pooler when present).
        """)

    @Option(help: "Model directory; default: MODE_MINILM_DIR, else .deps/minilm above the working directory or the executable.")
    var model: String?
    @Option(help: "Captions, one per line (UTF-8).") var textFile: String
    @Option(help: "Output .safetensors file.") var out: String
    @Option(help: "Texts per forward pass.") var batch = 64
    @Option(help: "Pooling instead of the model's own: \(BERTPooling.allCases.map(\.rawValue).joined(separator: ", ")).")
    var pooling: String?
    @Option(help: "Longest input in tokens, [CLS] and [SEP] included (default: the model's).") var maxLength: Int?
    @Flag(help: "Skip blank lines (and count them) instead of failing.") var skipBlank = false
    @Option(help: "Threads (BLAS and parallel loops); default: MODE_THREADS or all available cores.") var threads: Int?

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
        if let pooling, BERTPooling(rawValue: pooling) == nil {
            throw ValidationError("--pooling must be one of \(BERTPooling.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        if let threads { try BLAS.setThreads(threads) }
        let dir = try resolveModelDirectory(model)
        let captions = try CaptionLines.read(textFile, skipBlank: skipBlank)
        let (texts, lines, skipped) = (captions.texts, captions.lines, captions.skipped)
        let encoder = try SentenceEncoder(directory: dir, pooling: pooling.flatMap(BERTPooling.init(rawValue:)), maxLength: maxLength)
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
}

/// `explicit`, or the default caption-encoder location; a clear error when there is none.
func resolveModelDirectory(_ explicit: String?) throws -> String {
    if let explicit { return explicit }
    guard let dir = SentenceModelLocation.defaultMiniLM() else {
        throw ValidationError("no model given and all-MiniLM-L6-v2 not found (MODE_MINILM_DIR or .deps/minilm); run scripts/fetch_minilm.sh or pass --model DIR")
    }
    return dir
}
