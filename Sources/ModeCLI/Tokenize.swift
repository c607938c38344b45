import ArgumentParser
import MoDE
import Foundation

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize text lines from stdin with open_clip's CLIP tokenizer; print one line of ids per input line.",
        discussion: """
            Each output line holds exactly --context-length space-separated ids, as \
            open_clip.tokenize gives them: <start_of_text> (49406), the BPE ids of the cleaned text \
            (ftfy, HTML unescaping, whitespace collapse, lower case), <end_of_text> (49407), \
            truncated so that <end_of_text> stays last, then zeros.

            The vocabulary (bpe_simple_vocab_16e6.txt.gz, or its decompressed text) is read from \
            --vocab, else MODE_CLIP_VOCAB, else .deps/clip/ above the working directory or the \
            executable; scripts/fetch_clip_vocab.sh (run by the setup) downloads it.

            Example: printf 'a photo of a cat\\n' | mode tokenize --context-length 8
            """
    )

    @Option(help: "Ids per output line (open_clip's context length).")
    var contextLength = CLIPTokenizer.defaultContextLength

    @Option(help: ArgumentHelp("Path of the BPE vocabulary (.txt.gz or .txt).", valueName: "path"))
    var vocab: String?

    func validate() throws {
        guard contextLength >= 1 else { throw ValidationError("--context-length must be at least 1") }
    }

    func run() throws {
        let tokenizer = try vocab.map { try CLIPTokenizer(vocabularyPath: $0) } ?? CLIPTokenizer()
        var batch: [String] = []
        batch.reserveCapacity(Self.batchSize)
        func flush() {
            guard !batch.isEmpty else { return }
            FileHandle.standardOutput.write(Data(tokenizer.idLines(batch, contextLength: contextLength).utf8))
            batch.removeAll(keepingCapacity: true)
        }
        while let line = readLine(strippingNewline: true) {
            batch.append(line)
            if batch.count == Self.batchSize { flush() }
        }
        flush()
    }

    /// Lines per batch; each batch is tokenized in parallel (`MODE_THREADS` threads) and written in input order.
    static let batchSize = 8192
}
