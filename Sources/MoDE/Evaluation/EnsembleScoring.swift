import MoDEData
import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import MoDETokenizers

/// Ensemble scores: Σ_m w_m · (member m's scores), members of weight 0 skipped.
public enum EnsembleScoring {
    /// logits (n, classes) = Σ_m w_m · 100 · images_m (n, E_m) · texts_m (classes, E_m)ᵀ: the
    /// weighted sum of each member's zero-shot cosine logits (mode-method §5).
    public static func classificationLogits(_ data: EnsembleTaskData, weights: [Double]) -> Tensor {
        precondition(weights.count == data.members.count, "one weight per member")
        let n = data.imageCount, c = data.classNames.count
        let out = Tensor(shape: [n, c])
        var first = true
        for (m, w) in zip(data.members, weights) where w != 0 {
            Matmul.gemm(out.data, m.images.data, m.texts.data, m: n, n: c, k: m.dim, transB: true,
                        alpha: ZeroShotClassifier.logitScale * Float(w), beta: first ? 0 : 1)
            first = false
        }
        return out
    }

    /// Retrieval scores (captions, images) = Σ_m w_m · texts_m · images_mᵀ, where caption row t
    /// uses `perQuery[t]` when given, else `weights`.
    public static func retrievalScores(_ data: EnsembleTaskData, weights: [Double], perQuery: [[Double]]? = nil) -> Tensor {
        let t = data.owner.count, n = data.imageCount
        let out = Tensor(shape: [t, n])
        guard let perQuery else {
            precondition(weights.count == data.members.count, "one weight per member")
            var first = true
            for (m, w) in zip(data.members, weights) where w != 0 {
                Matmul.gemm(out.data, m.texts.data, m.images.data, m: t, n: n, k: m.dim, transB: true, alpha: Float(w), beta: first ? 0 : 1)
                first = false
            }
            return out
        }
        precondition(perQuery.count == t && perQuery.allSatisfy { $0.count == data.members.count }, "one weight row per caption, one weight per member")
        let sim = Tensor(shape: [t, n])
        for (j, m) in data.members.enumerated() where perQuery.contains(where: { $0[j] != 0 }) {
            Matmul.gemm(sim.data, m.texts.data, m.images.data, m: t, n: n, k: m.dim, transB: true)
            for r in 0..<t {
                let w = Float(perQuery[r][j])
                if w == 0 { continue }
                let o = out.data + r * n, s = sim.data + r * n
                for i in 0..<n { o[i] += w * s[i] }
            }
        }
        return out
    }

    /// clip_benchmark's metrics of the ensemble with weights `w`: acc1, acc5,
    /// mean_per_class_recall (classification); image_ and text_retrieval_recall@1/5/10
    /// (retrieval: text→image with the per-query weights, image→text with the corpus weights).
    public static func metrics(_ data: EnsembleTaskData, _ w: MemberWeights) -> [String: Double] {
        switch data.kind {
        case .classification:
            let logits = classificationLogits(data, weights: w.weights)
            return Evaluation.classificationMetrics(logits: logits.data, labels: data.labels, classes: data.classNames.count)
        case .retrieval:
            let corpus = retrievalScores(data, weights: w.weights)
            let queries = w.perQuery.map { retrievalScores(data, weights: w.weights, perQuery: $0) } ?? corpus
            return Evaluation.retrievalRecalls(imageRetrieval: queries.data, textRetrieval: corpus.data,
                                               imageCount: data.imageCount, owner: data.owner)
        }
    }

    /// Throws unless `w` fits `data` (one finite, non-negative weight per member, not all zero;
    /// per-query rows only for retrieval, one per caption).
    public static func validate(_ w: MemberWeights, for data: EnsembleTaskData, variant: String) throws {
        func check(_ row: [Double], _ what: String) throws {
            guard row.count == data.members.count else {
                throw EnsembleError.badWeights(task: data.task, variant: variant, reason: "\(what) has \(row.count) weights for \(data.members.count) models")
            }
            guard row.allSatisfy({ $0.isFinite && $0 >= 0 }), row.contains(where: { $0 > 0 }) else {
                throw EnsembleError.badWeights(task: data.task, variant: variant, reason: "\(what) must be finite, non-negative and not all zero: \(row)")
            }
        }
        try check(w.weights, "the task's weights")
        if let q = w.perQuery {
            guard data.kind == .retrieval, q.count == data.owner.count else {
                throw EnsembleError.badWeights(task: data.task, variant: variant,
                                               reason: "\(q.count) per-query rows for \(data.kind == .retrieval ? data.owner.count : 0) text queries")
            }
            for (i, row) in q.enumerated() { try check(row, "query \(i)") }
        }
    }
}

extension Ensemble {
    /// Reads `task` and computes every member's normalised features on it, loading one model at
    /// a time (only the features stay in memory). Experts must share one embedding width (they
    /// grow from one seed model); baselines may differ. `progress(member index, images done,
    /// images)` follows the image encoding.
    public static func taskData(task: BenchmarkTask, members: [EnsembleMember], tokenizer: CLIPTokenizer, batch: Int = 64,
                                progress: ((Int, Int, Int) -> Void)? = nil) throws -> EnsembleTaskData {
        precondition(batch > 0, "batch must be positive")
        let (samples, stats) = try task.samples()
        var skipped: [String: Int] = [:]
        for st in stats { for (k, v) in st.skipped { skipped[k, default: 0] += v } }
        var data = EnsembleTaskData(task: task.name, directory: task.directory, kind: task.kind, classNames: task.classnames,
                                    templates: task.templates, imageCount: 0, members: [])
        let images = samples.map(\.image)
        var kept: [Int]?
        var expertDim: (dim: Int, file: String)?
        for (index, member) in members.enumerated() {
            let file = try CheckpointStore.resolveModelFile(member.checkpoint)
            let model = try CheckpointStore.loadModel(member.checkpoint, config: member.config)
            if member.role == .expert {
                if let d = expertDim, d.dim != model.embedDim {
                    throw EnsembleError.dimensionMismatch(file: file, dim: model.embedDim, expected: d.dim, reference: d.file)
                }
                if expertDim == nil { expertDim = (model.embedDim, file) }
            }
            progress?(index, 0, samples.count)
            let (features, k, imageSkips) = Evaluation.imageFeatures(model: model, images: images, batch: batch) {
                progress?(index, $0, samples.count)
            }
            if let kept {
                guard kept == k else { throw EnsembleError.inconsistentImages(task: task.name, member: member.name) }
            } else {
                guard !k.isEmpty else { throw DataError.invalid(task.directory, "no image of the task could be decoded") }
                kept = k
                for (key, v) in imageSkips { skipped[key, default: 0] += v }
                data.imageCount = k.count
                switch task.kind {
                case .classification:
                    data.labels = k.map { samples[$0].label! }
                case .retrieval:
                    for (row, i) in k.enumerated() {
                        for cap in samples[i].captions { data.captions.append(cap); data.owner.append(row) }
                    }
                }
            }
            let texts: Tensor
            switch task.kind {
            case .classification:
                texts = ZeroShotClassifier(model: model, tokenizer: tokenizer, classNames: task.classnames, templates: task.templates).weights
            case .retrieval:
                texts = CLIPTextEncoder(tokenizer: tokenizer, model: model).features(data.captions, model: model, batch: batch, normalise: true)
            }
            data.members.append(MemberFeatures(member: member.name, images: features, texts: texts,
                                               model: Evaluation.modelName(model.config, named: member.config)))
        }
        data.skipped = skipped
        return data
    }
}
