import Foundation
import MoDETensor
import MoDETokenizers

/// open_clip's zero-shot classifier (`build_zero_shot_classifier`): for each class, the text
/// features of every template filled with the class name, each normalised, averaged and
/// renormalised; images are scored by 100 · normalise(image features) · classifierᵀ.
public struct ZeroShotClassifier: Sendable {
    /// (classes, E), unit rows.
    public let weights: Tensor
    public var classCount: Int { weights.shape[0] }
    public var dim: Int { weights.shape[1] }
    /// open_clip's logit scale for zero-shot scores.
    public static let logitScale: Float = 100

    /// The classifier of text features (classes · templates, E), class-major (the features of
    /// class c, template t at row c · templates + t).
    public init(textFeatures: UnsafePointer<Float>, classes: Int, templates: Int, dim: Int) {
        precondition(classes > 0 && templates > 0 && dim > 0, "empty zero-shot classifier")
        let w = Tensor(shape: [classes, dim])
        let unit = UnsafeMutablePointer<Float>.allocate(capacity: templates * dim)
        let norms = UnsafeMutablePointer<Float>.allocate(capacity: max(templates, classes))
        defer { unit.deallocate(); norms.deallocate() }
        for c in 0..<classes {
            L2Normalize.forward(unit, norms, textFeatures + c * templates * dim, rows: templates, cols: dim)
            let row = w.data + c * dim
            for t in 0..<templates {
                for j in 0..<dim { row[j] += unit[t * dim + j] }
            }
            for j in 0..<dim { row[j] /= Float(templates) }
        }
        L2Normalize.forward(w.data, norms, w.data, rows: classes, cols: dim)
        weights = w
    }

    /// The prompts of `className`: each template with `{c}` replaced by the class name
    /// (clip_benchmark's template files use `{c}`).
    public static func prompts(_ className: String, templates: [String]) -> [String] {
        templates.map { $0.replacingOccurrences(of: "{c}", with: className) }
    }

    /// Builds the classifier of `classNames` × `templates` with `model`'s text tower, tokenizing
    /// with `tokenizer` at the model's context length and encoding `batch` prompts at a time
    /// (`CLIPTextEncoder`).
    public init(model: CLIPModel, tokenizer: CLIPTokenizer, classNames: [String], templates: [String], batch: Int = 256) {
        precondition(!classNames.isEmpty && !templates.isEmpty, "no class names or no templates")
        let prompts = classNames.flatMap { Self.prompts($0, templates: templates) }
        let features = CLIPTextEncoder(tokenizer: tokenizer, model: model).features(prompts, model: model, batch: batch, normalise: false)
        self.init(textFeatures: features.data, classes: classNames.count, templates: templates.count, dim: model.embedDim)
    }

    /// logits (N, classes) = 100 · normalise(imageFeatures (N, E)) · weightsᵀ.
    public func logits(_ out: UnsafeMutablePointer<Float>, imageFeatures: UnsafePointer<Float>, count n: Int) {
        if n == 0 { return }
        let unit = Tensor(shape: [n, dim]), norms = Tensor(shape: [n])
        L2Normalize.forward(unit.data, norms.data, imageFeatures, rows: n, cols: dim)
        Matmul.gemm(out, unit.data, weights.data, m: n, n: classCount, k: dim, transB: true, alpha: Self.logitScale)
    }
}

/// Classification metrics as clip_benchmark reports them.
public enum ZeroShotMetrics {
    /// The fraction of rows of logits (N, classes) whose label is among the row's k largest
    /// entries (ties: lower class index first, as `Reduce.topKRows`).
    public static func topKAccuracy(logits: UnsafePointer<Float>, labels: [Int], classes: Int, k: Int) -> Double {
        let n = labels.count
        if n == 0 { return 0 }
        let k = min(k, classes)
        var top = [Int32](repeating: 0, count: n * k)
        top.withUnsafeMutableBufferPointer { Reduce.topKRows($0.baseAddress!, logits, rows: n, cols: classes, k: k) }
        var hits = 0
        for r in 0..<n where top[(r * k)..<(r * k + k)].contains(Int32(labels[r])) { hits += 1 }
        return Double(hits) / Double(n)
    }

    /// The mean over classes that occur in `labels` of the top-1 recall (clip_benchmark's
    /// `mean_per_class_recall`, scikit-learn's balanced accuracy), from logits (N, classes).
    public static func meanPerClassRecall(logits: UnsafePointer<Float>, labels: [Int], classes: Int) -> Double {
        let n = labels.count
        if n == 0 { return 0 }
        var predicted = [Int32](repeating: 0, count: n)
        predicted.withUnsafeMutableBufferPointer { Reduce.argmaxRows($0.baseAddress!, logits, rows: n, cols: classes) }
        var seen = [Int](repeating: 0, count: classes), right = [Int](repeating: 0, count: classes)
        for (r, y) in labels.enumerated() {
            seen[y] += 1
            if Int(predicted[r]) == y { right[y] += 1 }
        }
        let present = (0..<classes).filter { seen[$0] > 0 }
        return present.reduce(0.0) { $0 + Double(right[$1]) / Double(seen[$1]) } / Double(present.count)
    }
}
