import Foundation
import MoDENN
import MoDETensor
import MoDEFormats
import MoDETokenizers

/// Sentence (caption) embeddings from a Hugging Face BERT-family directory: WordPiece
/// tokenisation, the BERT encoder, the pooling the directory describes, then L2 normalisation.
/// Holds reusable buffers: one `embed` call at a time per encoder.
public final class SentenceEncoder: @unchecked Sendable {
    public let directory: String
    public let tokenizer: WordPieceTokenizer
    public let model: BERTModel
    public let spec: SentenceEmbeddingSpec
    private var workspaces: [Worker] = []

    /// Embedding width D.
    public var dimension: Int { model.config.hiddenSize }

    /// Loads `directory`: config.json, tokenizer.json or vocab.txt (+ tokenizer_config.json),
    /// model.safetensors, and the sentence-transformers description when present (modules.json,
    /// the Pooling config, sentence_bert_config.json). `pooling` and `maxLength` override what
    /// the directory says. Throws `BERTError` (or `SafeTensorsError`) naming the file at fault.
    public init(directory: String, pooling: BERTPooling? = nil, maxLength: Int? = nil) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw BERTError(path: directory, .missingFile(what: "model directory"))
        }
        self.directory = directory
        let config = try BERTConfig.load(HFFiles.join(directory, "config.json"))
        tokenizer = try WordPieceTokenizer.load(directory: directory)
        let weights = HFFiles.join(directory, "model.safetensors")
        model = try BERTModel.load(weights: weights, config: config)
        if tokenizer.vocabularySize > config.vocabSize {
            throw BERTError(path: tokenizer.source, .vocabularyMismatch(tokenizerSize: tokenizer.vocabularySize, embeddingRows: config.vocabSize))
        }
        var spec = try SentenceEmbeddingSpec.load(directory: directory, config: config, hasPooler: model.pooler != nil)
        if let pooling { spec.pooling = pooling }
        if spec.pooling == .clsPooler && model.pooler == nil {
            throw BERTError(path: weights, .unsupported("cls-pooler pooling needs pooler.dense weights, which this file lacks"))
        }
        if let maxLength {
            guard maxLength >= 2 && maxLength <= config.maxPositions else {
                throw BERTError(path: directory, .invalidValue(key: "max length", reason: "\(maxLength) is outside 2...\(config.maxPositions)"))
            }
            spec.maxLength = maxLength
        }
        self.spec = spec
    }

    /// Token ids of each text: [CLS] … [SEP], truncated to `spec.maxLength`. Parallel over texts.
    public func tokenize(_ texts: [String]) -> [[Int32]] {
        var out = [[Int32]](repeating: [], count: texts.count)
        let maxLength = spec.maxLength, lower = spec.lowercaseInput
        out.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            Parallel.forEach(texts.count, grain: 64) { range in
                for i in range {
                    base[i] = tokenizer.encode(lower ? texts[i].lowercased() : texts[i], maxLength: maxLength)
                }
            }
        }
        return out
    }

    /// (N, D) L2-normalised embeddings of `texts`, row i for text i.
    public func embed(_ texts: [String], batchSize: Int = 64, progress: ((Int) -> Void)? = nil) -> Tensor {
        embed(tokens: Profiler.region("tokenize") { tokenize(texts) }, batchSize: batchSize, progress: progress)
    }

    /// (N, D) L2-normalised embeddings of tokenised texts (as `tokenize` makes them). Texts are
    /// processed longest first in batches of `batchSize`, each batch packed without padding.
    /// With several threads (`Parallel.threads`) and batches, each thread takes whole batches in
    /// turn and runs them alone (BLAS single-threaded), which keeps every core on large GEMMs
    /// without a fork and join per operation. `progress` receives the number of texts done after
    /// each batch (from worker threads, one call at a time).
    public func embed(tokens: [[Int32]], batchSize: Int = 64, progress: ((Int) -> Void)? = nil) -> Tensor {
        precondition(batchSize >= 1, "batchSize must be positive")
        let n = tokens.count, D = dimension
        let out = Tensor(shape: [n, D])
        let lengths = tokens.map(\.count)
        let order = (0..<n).sorted { (a: Int, b: Int) -> Bool in
            lengths[a] != lengths[b] ? lengths[a] > lengths[b] : a < b
        }
        let batches = stride(from: 0, to: n, by: batchSize).map { order[$0..<min(n, $0 + batchSize)] }
        let workers = min(Parallel.threads, batches.count)
        let rows = min(batchSize, max(n, 1))
        if let first = workspaces.first, first.capacity < rows { workspaces.removeAll() }
        while workspaces.count < max(workers, 1) { workspaces.append(Worker(rows: rows, width: D)) }
        let lock = NSLock()
        var next = 0, done = 0
        func run(_ w: Worker, parallel: Bool) {
            while true {
                lock.lock()
                let b = next
                next += 1
                lock.unlock()
                if b >= batches.count { return }
                let batch = batches[b]
                w.ids.removeAll(keepingCapacity: true)
                for i in batch { w.ids.append(contentsOf: tokens[i]) }
                let seqs = PackedSequences(lengths: batch.map { lengths[$0] })
                let x = Profiler.region("bert") {
                    w.ids.withUnsafeBufferPointer { model.encode(ids: $0.baseAddress!, seqs, workspace: w.model, parallel: parallel) }
                }
                Profiler.region("pool") {
                    model.pool(w.pooled.data, x, seqs, mode: spec.pooling, parallel: parallel)
                    L2Normalize.forward(w.pooled.data, w.norms.data, w.pooled.data, rows: seqs.count, cols: D)
                }
                for (k, i) in batch.enumerated() { (out.data + i * D).update(from: w.pooled.data + k * D, count: D) }
                lock.lock()
                done += batch.count
                progress?(done)
                lock.unlock()
            }
        }
        if workers <= 1 {
            run(workspaces[0], parallel: true)
        } else {
            let ws = workspaces
            Matmul.forEachSingleThreaded(workers) { range in
                for w in range { run(ws[w], parallel: false) }
            }
        }
        return out
    }

    /// One thread's buffers.
    private final class Worker {
        let model = BERTModel.Workspace()
        var ids: [Int32] = []
        let pooled: Tensor
        let norms: Tensor
        /// Texts per batch the buffers hold.
        let capacity: Int
        init(rows: Int, width: Int) {
            capacity = rows
            pooled = Tensor(shape: [rows, width])
            norms = Tensor(shape: [rows])
        }
    }
}
