import MoDEData
import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import MoDETokenizers

/// A CLIP model taking part in an ensemble evaluation: a data expert or a baseline (e.g. the
/// dense model), named by its weights (file, checkpoint folder or run folder) and config.
public struct EnsembleMember: Sendable, Codable, Equatable {
    public enum Role: String, Sendable, Codable { case expert, baseline }
    public var name: String
    public var role: Role
    public var checkpoint: String
    /// A preset name or JSON file; nil: the open_clip_config.json beside the weights.
    public var config: String?

    public init(name: String, role: Role, checkpoint: String, config: String? = nil) {
        self.name = name
        self.role = role
        self.checkpoint = checkpoint
        self.config = config
    }
}

/// Errors of ensemble evaluation, each naming the file or task at fault.
public enum EnsembleError: Error, CustomStringConvertible, Equatable {
    /// An expert whose embedding width differs from the first expert's.
    case dimensionMismatch(file: String, dim: Int, expected: Int, reference: String)
    /// Images of one task decoded differently for two members (should not happen).
    case inconsistentImages(task: String, member: String)
    /// Routing weights that do not fit the task (wrong expert or query count, negative, non-finite).
    case badWeights(task: String, variant: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .dimensionMismatch(let f, let d, let e, let r):
            return "\(f): embedding dimension \(d), but the experts of an ensemble share one architecture and \(r) has \(e)"
        case .inconsistentImages(let t, let m): return "task \(t): member \(m) decoded a different set of images"
        case .badWeights(let t, let v, let r): return "task \(t), \(v): bad weights: \(r)"
        case .invalid(let why): return why
        }
    }
}

/// One member's L2-normalised features on one task.
public struct MemberFeatures: Sendable {
    public var member: String
    /// (n, E) features of the task's usable images.
    public var images: Tensor
    /// Classification: (classes, E) zero-shot classifier (unit rows); retrieval: (captions, E).
    public var texts: Tensor
    /// The member's architecture (`Evaluation.modelName`), for result files.
    public var model: String
    public var dim: Int { images.shape[1] }

    public init(member: String, images: Tensor, texts: Tensor, model: String = "") {
        precondition(images.rank == 2 && texts.rank == 2 && images.shape[1] == texts.shape[1], "image and text features must share E")
        self.member = member
        self.images = images
        self.texts = texts
        self.model = model
    }
}

/// Everything ensemble scoring needs about one task: labels or captions, and every member's
/// features, each computed once.
public struct EnsembleTaskData: Sendable {
    public var task: String
    public var directory: String
    public var kind: BenchmarkTask.Kind
    /// Classification: class names and templates (routing embeds them).
    public var classNames: [String]
    public var templates: [String]
    /// Classification: the label of each usable image.
    public var labels: [Int]
    /// Retrieval: every caption of the usable images, and its image row.
    public var captions: [String]
    public var owner: [Int]
    /// Usable images.
    public var imageCount: Int
    /// Samples skipped by reason.
    public var skipped: [String: Int]
    /// In member order (experts first, then baselines, as given).
    public var members: [MemberFeatures]

    public init(task: String, directory: String = "", kind: BenchmarkTask.Kind, classNames: [String] = [], templates: [String] = [],
                labels: [Int] = [], captions: [String] = [], owner: [Int] = [], imageCount: Int,
                skipped: [String: Int] = [:], members: [MemberFeatures]) {
        self.task = task; self.directory = directory; self.kind = kind
        self.classNames = classNames; self.templates = templates; self.labels = labels
        self.captions = captions; self.owner = owner; self.imageCount = imageCount
        self.skipped = skipped; self.members = members
    }

    /// The number of texts: classes (classification) or captions (retrieval).
    public var textCount: Int { kind == .classification ? classNames.count : owner.count }
}

/// The weights of one ensemble variant on one task, one per member (in `EnsembleTaskData.members` order).
public struct MemberWeights: Sendable, Codable, Equatable {
    /// Classification, and retrieval image→text (the task's whole text corpus routes).
    public var weights: [Double]
    /// Retrieval text→image: one weight row per caption (each query its own task); nil: `weights`.
    public var perQuery: [[Double]]?

    public init(weights: [Double], perQuery: [[Double]]? = nil) {
        self.weights = weights
        self.perQuery = perQuery
    }

    /// Weight 1 on member `index` of `count`.
    public static func single(_ index: Int, of count: Int) -> MemberWeights {
        MemberWeights(weights: (0..<count).map { $0 == index ? 1 : 0 })
    }
}

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

/// How routing weighted the experts on one task for one method (weights over experts, in manifest order).
public struct TaskRouting: Sendable, Codable, Equatable {
    public var method: String
    /// p(c|T) over the experts: classification, and retrieval image→text.
    public var weights: [Double]
    /// Retrieval text→image: p(c|q) per caption.
    public var perQuery: [[Double]]?
    /// Per class (or text) of the task: its nearest fine centre, distance, and that centre's expert.
    public var nearestFine: [Int32]?
    public var distances: [Double]?
    public var expertOfClass: [Int]?

    public init(method: String, weights: [Double], perQuery: [[Double]]? = nil, nearestFine: [Int32]? = nil,
                distances: [Double]? = nil, expertOfClass: [Int]? = nil) {
        self.method = method; self.weights = weights; self.perQuery = perQuery
        self.nearestFine = nearestFine; self.distances = distances; self.expertOfClass = expertOfClass
    }

    /// The mean of the per-query weights (or `weights` without them).
    public var meanQueryWeights: [Double] {
        guard let q = perQuery, !q.isEmpty else { return weights }
        var m = [Double](repeating: 0, count: weights.count)
        for row in q { for (i, v) in row.enumerated() where i < m.count { m[i] += v } }
        return m.map { $0 / Double(q.count) }
    }
}

/// One row of the report: an expert alone, the uniform average, a routed ensemble, or a baseline.
public struct EnsembleVariant: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case expert, uniform, routed, baseline }
    /// Folder name: expert-NAME, uniform, routed-METHOD, baseline-NAME.
    public var name: String
    public var kind: Kind
    /// The expert or baseline name, or the routing method.
    public var source: String

    public init(name: String, kind: Kind, source: String) {
        self.name = name; self.kind = kind; self.source = source
    }
}

/// Zero-shot evaluation of ensembles of data experts (see `Ensemble.evaluate`).
public enum Ensemble {
    /// The main metric of a task result, as a fraction: acc1 (classification), the mean of
    /// image_ and text_retrieval_recall@1 (retrieval, as DataComp reports retrieval tasks).
    public static func mainMetric(_ r: TaskResult) -> Double? {
        if let a = r.metrics["acc1"] { return a }
        if let i = r.metrics["image_retrieval_recall@1"], let t = r.metrics["text_retrieval_recall@1"] { return (i + t) / 2 }
        return nil
    }

    /// A name usable as a folder name: letters, digits, '-', '_' and '.' kept, others '_'.
    public static func safeName(_ s: String) -> String {
        let mapped = String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "_" })
        return mapped.isEmpty || mapped.allSatisfy({ $0 == "." }) ? "_" + mapped : mapped
    }

    /// The variants for `experts`, `baselines` and routing `methods` (in that order: each expert
    /// alone, uniform, routed per method, baselines). Method "uniform" is the uniform variant.
    public static func variants(experts: [String], baselines: [String], methods: [String]) -> [EnsembleVariant] {
        // "expert-NAME", without doubling the prefix of names that carry it (mode experts add's
        // default "expert-C"), unless that would make two variants alike.
        let short = experts.map { e in safeName(e).hasPrefix("expert-") ? safeName(e) : "expert-" + safeName(e) }
        let names = Set(short).count == short.count ? short : experts.map { "expert-" + safeName($0) }
        var v = zip(experts, names).map { EnsembleVariant(name: $1, kind: .expert, source: $0) }
        v.append(EnsembleVariant(name: "uniform", kind: .uniform, source: "uniform"))
        for m in methods where m != "uniform" { v.append(EnsembleVariant(name: "routed-" + safeName(m), kind: .routed, source: m)) }
        v += baselines.map { EnsembleVariant(name: "baseline-" + safeName($0), kind: .baseline, source: $0) }
        return v
    }

    /// The member weights of `variant` on a task with `experts` experts followed by `baselines`
    /// baselines; `routing` holds the routed methods' weights over the experts.
    public static func weights(for variant: EnsembleVariant, experts: Int, baselines: Int, expertNames: [String], baselineNames: [String],
                               routing: [TaskRouting], task: String) throws -> MemberWeights {
        let count = experts + baselines
        let pad = [Double](repeating: 0, count: baselines)
        switch variant.kind {
        case .expert:
            guard let i = expertNames.firstIndex(of: variant.source) else { throw EnsembleError.invalid("no expert \(variant.source)") }
            return .single(i, of: count)
        case .baseline:
            guard let i = baselineNames.firstIndex(of: variant.source) else { throw EnsembleError.invalid("no baseline \(variant.source)") }
            return .single(experts + i, of: count)
        case .uniform:
            return MemberWeights(weights: [Double](repeating: 1 / Double(experts), count: experts) + pad)
        case .routed:
            guard let r = routing.first(where: { $0.method == variant.source }) else {
                throw EnsembleError.badWeights(task: task, variant: variant.name, reason: "the router gave no weights for method \(variant.source)")
            }
            guard r.weights.count == experts else {
                throw EnsembleError.badWeights(task: task, variant: variant.name, reason: "\(r.weights.count) weights for \(experts) experts")
            }
            return MemberWeights(weights: r.weights + pad, perQuery: r.perQuery.map { $0.map { $0 + pad } })
        }
    }

    /// What `evaluate` reports as it goes.
    public enum Progress: Sendable {
        /// Encoding `task`'s images with member `member` (index `index` of `members`).
        case encoding(task: String, member: String, index: Int, members: Int, done: Int, total: Int)
        /// `task` scored; its results per variant.
        case scored(task: String, results: [String: TaskResult])
    }

    /// Evaluates every variant on every task: each task's features are computed once per member
    /// (experts first, then baselines; one model in memory at a time), `route` gives the routed
    /// methods' weights from the task's data (class names / captions), and each variant's
    /// metrics come from the weighted sum of the members' scores.
    public static func evaluate(tasks: [BenchmarkTask], experts: [EnsembleMember], baselines: [EnsembleMember], methods: [String],
                                tokenizer: CLIPTokenizer, batch: Int = 64, expertInfo: [EnsembleReport.Expert]? = nil,
                                routingSettings: [String: String] = [:],
                                route: (EnsembleTaskData) throws -> [TaskRouting],
                                progress: ((Progress) -> Void)? = nil) throws -> EnsembleReport {
        guard !experts.isEmpty else { throw EnsembleError.invalid("no experts to ensemble") }
        let expertNames = experts.map(\.name), baselineNames = baselines.map(\.name)
        let names = expertNames + baselineNames
        guard Set(names.map(safeName)).count == names.count else {
            throw EnsembleError.invalid("expert and baseline names must be distinct (as folder names): \(names)")
        }
        let variants = variants(experts: expertNames, baselines: baselineNames, methods: methods)
        let members = experts.map { var m = $0; m.role = .expert; return m } + baselines.map { var m = $0; m.role = .baseline; return m }
        var report = EnsembleReport(experts: expertInfo ?? experts.map { EnsembleReport.Expert(name: $0.name, samplesSeen: 0, fineCentres: 0) },
                                    baselines: baselineNames, variants: variants, routingSettings: routingSettings)
        for task in tasks {
            let data = try taskData(task: task, members: members, tokenizer: tokenizer, batch: batch) { i, done, total in
                progress?(.encoding(task: task.name, member: members[i].name, index: i, members: members.count, done: done, total: total))
            }
            let routing = methods.contains(where: { $0 != "uniform" }) ? try route(data) : []
            let results = try score(data, variants: variants, expertNames: expertNames, baselineNames: baselineNames, routing: routing)
            report.add(task: EnsembleReport.Task(name: task.name, kind: task.kind, samples: data.imageCount, texts: data.textCount,
                                                 skipped: data.skipped),
                       results: results, routing: routing)
            progress?(.scored(task: task.name, results: results))
        }
        return report
    }

    /// Scores every variant on one task's data; results keyed by variant name (also their
    /// pretrained; model: see `modelName(_:_:_:experts:)`).
    public static func score(_ data: EnsembleTaskData, variants: [EnsembleVariant], expertNames: [String], baselineNames: [String],
                             routing: [TaskRouting]) throws -> [String: TaskResult] {
        var out: [String: TaskResult] = [:]
        for v in variants {
            let w = try weights(for: v, experts: expertNames.count, baselines: baselineNames.count, expertNames: expertNames,
                                baselineNames: baselineNames, routing: routing, task: data.task)
            try EnsembleScoring.validate(w, for: data, variant: v.name)
            out[v.name] = TaskResult(dataset: data.task, model: modelName(v, w, data, experts: expertNames.count), pretrained: v.name, task: data.kind.rawValue,
                                     metrics: EnsembleScoring.metrics(data, w), samples: data.imageCount, skipped: data.skipped)
        }
        return out
    }
}
