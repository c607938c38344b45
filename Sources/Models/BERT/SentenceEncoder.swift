import Foundation
import NN
import Tensor

/// Sentence (caption) embeddings from a Hugging Face BERT-family directory: WordPiece
/// tokenisation, the BERT encoder, the pooling the directory describes, then L2 normalisation.
/// Holds reusable buffers: one `embed` call at a time per encoder.
public final class SentenceEncoder: @unchecked Sendable {
    public let directory: String
    public let tokenizer: WordPieceTokenizer
    public let model: BERTModel
    public let spec: SentenceEmbeddingSpec
    private let workspace = BERTModel.Workspace()

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
        embed(tokens: tokenize(texts), batchSize: batchSize, progress: progress)
    }

    /// (N, D) L2-normalised embeddings of tokenised texts (as `tokenize` makes them). Texts are
    /// processed longest first in batches of `batchSize`, each batch packed without padding;
    /// `progress` receives the number of texts done after each batch.
    public func embed(tokens: [[Int32]], batchSize: Int = 64, progress: ((Int) -> Void)? = nil) -> Tensor {
        precondition(batchSize >= 1, "batchSize must be positive")
        let n = tokens.count, D = dimension
        let out = Tensor(shape: [n, D])
        let lengths = tokens.map(\.count)
        let order = (0..<n).sorted { (a: Int, b: Int) -> Bool in
            lengths[a] != lengths[b] ? lengths[a] > lengths[b] : a < b
        }
        let rows = min(batchSize, max(n, 1))
        let pooled = Tensor(shape: [rows, D])
        let norms = Tensor(shape: [rows])
        var ids: [Int32] = []
        var start = 0
        while start < n {
            let batch = order[start..<min(n, start + batchSize)]
            ids.removeAll(keepingCapacity: true)
            for i in batch { ids.append(contentsOf: tokens[i]) }
            let seqs = PackedSequences(lengths: batch.map { tokens[$0].count })
            let x = ids.withUnsafeBufferPointer { model.encode(ids: $0.baseAddress!, seqs, workspace: workspace) }
            model.pool(pooled.data, x, seqs, mode: spec.pooling)
            L2Normalize.forward(pooled.data, norms.data, pooled.data, rows: seqs.count, cols: D)
            for (k, i) in batch.enumerated() { (out.data + i * D).update(from: pooled.data + k * D, count: D) }
            start += batch.count
            progress?(start)
        }
        return out
    }
}
