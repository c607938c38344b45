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
