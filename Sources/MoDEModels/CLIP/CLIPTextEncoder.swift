import MoDETensor
import MoDETokenizers

/// The one path from texts to CLIP text features: `open_clip.tokenize` at a fixed context length
/// into a reusable id buffer, the text tower (`CLIPModel.encodeText`) a batch at a time, and
/// optionally L2 normalisation of each row. Evaluation, zero-shot classifiers, the training data
/// stream and the benchmark all go through it.
public struct CLIPTextEncoder: Sendable {
    public let tokenizer: CLIPTokenizer
    /// Tokens per text (the model's context length).
    public let contextLength: Int

    public init(tokenizer: CLIPTokenizer, contextLength: Int) {
        precondition(contextLength >= 1, "contextLength must be at least 1")
        self.tokenizer = tokenizer
        self.contextLength = contextLength
    }

    /// The encoder for `model`'s context length.
    public init(tokenizer: CLIPTokenizer, model: CLIPModel) {
        self.init(tokenizer: tokenizer, contextLength: model.config.text.contextLength)
    }

    /// The (contextLength) ids of one text (`open_clip.tokenize`).
    public func ids(_ text: String) -> [Int32] {
        tokenizer.tokenize(text, contextLength: contextLength)
    }

    /// Writes the ids of `texts` as rows of `ids` (texts.count, contextLength), growing the buffer
    /// when it is too small and leaving any rows after the texts as they were.
    public func tokenize<C: Collection<String>>(_ texts: C, into ids: inout [Int32]) {
        let l = contextLength
        if ids.count < texts.count * l { ids += repeatElement(0, count: texts.count * l - ids.count) }
        for (i, text) in texts.enumerated() {
            let row = self.ids(text)
            for j in 0..<l { ids[i * l + j] = row[j] }
        }
    }

    /// features (count, E) = the text tower on id rows (count, contextLength), unnormalised.
    public static func encode(_ features: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, count: Int, model: CLIPModel) {
        model.encodeText(features, ids, batch: count)
    }

    /// Text features (texts.count, E) of `texts` with `model`, encoding `batch` texts at a time;
    /// each row L2-normalised when `normalise`, else as open_clip's `encode_text` returns it.
    public func features(_ texts: [String], model: CLIPModel, batch: Int, normalise: Bool) -> Tensor {
        precondition(batch > 0, "batch must be positive")
        precondition(model.config.text.contextLength == contextLength,
                     "the encoder's context length \(contextLength) differs from the model's \(model.config.text.contextLength)")
        let e = model.embedDim
        let out = Tensor(shape: [texts.count, e])
        var ids = [Int32](repeating: 0, count: min(batch, texts.count) * contextLength)
        for lo in stride(from: 0, to: texts.count, by: batch) {
            let hi = min(texts.count, lo + batch)
            tokenize(texts[lo..<hi], into: &ids)
            ids.withUnsafeBufferPointer { Self.encode(out.data + lo * e, ids: $0.baseAddress!, count: hi - lo, model: model) }
        }
        if normalise && !texts.isEmpty {
            let norms = Tensor(shape: [texts.count])
            L2Normalize.forward(out.data, norms.data, out.data, rows: texts.count, cols: e)
        }
        return out
    }
}
