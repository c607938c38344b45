import Foundation
import MoDEData
import MoDEModels
import MoDETensor
import MoDETokenizers

/// What `mode classify` is asked: a model or an experts manifest, labels with their prompt
/// templates, and the images.
public struct ClassifyRequest: Sendable {
    public enum Model: Sendable, Equatable {
        /// One CLIP model (see `CheckpointStore.loadModel`); config nil: the one beside the weights.
        case checkpoint(String, config: String?)
        /// The experts of a manifest, routed by the labels and ensembled.
        case experts(String)
    }

    public var model: Model
    public var labels: [String]
    /// Templates holding `{c}` (see `PromptTemplates`).
    public var templates: [String]
    /// Image files, folders, globs or shards (see `InferenceInputs.expand`).
    public var paths: [String]
    /// Routing of the labels to the experts (with `.experts`).
    public var routing = RoutingOptions()
    /// Labels per image in the result.
    public var topK = 5
    /// Images per forward pass.
    public var batch = 32
    /// With experts: run only the k highest-weighted, weights renormalised (nil: all).
    public var topExperts: Int?

    public init(model: Model, labels: [String], templates: [String] = PromptTemplates.openAI, paths: [String]) {
        self.model = model
        self.labels = labels
        self.templates = templates
        self.paths = paths
    }

    /// Checks what a user can get wrong before anything is loaded.
    public func validate() throws {
        guard !labels.isEmpty else { throw InferenceError.invalid("labels", "no labels given") }
        if let d = Dictionary(grouping: labels, by: { $0 }).first(where: { $0.value.count > 1 }) {
            throw InferenceError.invalid("labels", "label \"\(d.key)\" is given twice")
        }
        guard !templates.isEmpty else { throw InferenceError.invalid("templates", "no templates given") }
        if let bad = templates.first(where: { !$0.contains("{c}") }) { throw InferenceError.invalid("templates", "template without {c}: \(bad)") }
        guard topK > 0 else { throw InferenceError.invalid("--top-k", "must be positive") }
        guard batch > 0 else { throw InferenceError.invalid("--batch", "must be positive") }
        if let k = topExperts, k <= 0 { throw InferenceError.invalid("--top-experts", "must be positive") }
        guard !paths.isEmpty else { throw InferenceError.invalid("paths", "no images given") }
        try routing.validate()
    }
}

/// A label and its probability for one image.
public struct LabelProbability: Codable, Sendable, Equatable {
    public var label: String
    public var probability: Double
}

/// The top labels of one image, most probable first (ties: the earlier label).
public struct ImagePrediction: Codable, Sendable, Equatable {
    public var path: String
    public var top: [LabelProbability]
}

/// How the labels were routed to the experts.
public struct ClassifyRouting: Codable, Sendable, Equatable {
    public var method: RoutingMethod
    public var experts: [String]
    public var weights: [Double]
}

/// The summary line of `mode classify --json`.
public struct ClassifySummary: Codable, Sendable, Equatable {
    public var images: Int
    public var skipped: Int
    /// Images classified per second of the whole call (models, texts, images).
    public var imagesPerSecond: Double
    /// With experts: the routing weights.
    public var routing: ClassifyRouting?

    enum CodingKeys: String, CodingKey { case images, skipped, imagesPerSecond = "images_per_s", routing }
}

/// The result of `ClassifyRun.run`.
public struct ClassifyResult: Sendable {
    /// One per classified image, in input order.
    public var predictions: [ImagePrediction]
    public var skipped: [SkippedImage]
    public var summary: ClassifySummary
}

/// `mode classify` as a library call: zero-shot classification of a user's images against their
/// labels. Probabilities are softmax over 100 · cos(image, class), the class embedding being the
/// normalised mean of the label's normalised prompt embeddings (`ZeroShotClassifier`). With
/// experts, the labels are routed as `mode route` routes a task's classes (`ClassEmbedding`,
/// `Router`) and the logits are the routed weighted sum of each expert's logits, as ensemble
/// evaluation scores (`EnsembleScoring.classificationLogits`), before the softmax.
public enum ClassifyRun {
    /// What the run reports as it goes.
    public enum Event: Sendable {
        /// Something the user should know (a truncated prompt).
        case warning(String)
        case routed(ClassifyRouting)
        /// Encoding with model `index` of `count` (named `name`).
        case model(name: String, index: Int, count: Int)
        case images(ImageFeaturePass.Event)
    }

    public static func run(_ request: ClassifyRequest, events: (Event) -> Void = { _ in }) throws -> ClassifyResult {
        let start = DispatchTime.now().uptimeNanoseconds
        try request.validate()
        let inputs = try InferenceInputs.expand(request.paths)
        let tokenizer = try CLIPTokenizer()
        var members: [(name: String, checkpoint: String, config: String?)] = []
        var weights: [Double] = [1]
        var routing: ClassifyRouting?
        switch request.model {
        case let .checkpoint(path, config):
            members = [(name: path, checkpoint: path, config: config)]
        case .experts(let path):
            let manifest = try ExpertManifest.load(path)
            let router = try manifest.router(options: request.routing)
            let encoder = try SentenceEncoder(directory: manifest.embedder)
            guard encoder.dimension == router.dimension else {
                throw RoutingError.invalidOption("the embedder \(manifest.embedder) gives \(encoder.dimension)-dimensional embeddings, the centres are \(router.dimension)-dimensional")
            }
            let classes = ClassEmbedding.embed(classNames: request.labels, templates: request.templates, encoder: encoder)
            weights = try router.route(classes).weights
            if let k = request.topExperts { weights = SparseEnsemble.keepTop(weights, k: k) }
            members = Ensemble.members(of: manifest).members.map { (name: $0.name, checkpoint: $0.checkpoint, config: $0.config) }
            routing = ClassifyRouting(method: request.routing.method, experts: members.map(\.name), weights: weights)
            events(.routed(routing!))
        }
        var names: [String]?
        var skipped: [SkippedImage] = []
        var features: [MemberFeatures] = []
        var warned = false
        var used: [Double] = []
        for (index, m) in members.enumerated() where weights[index] > 0 {
            events(.model(name: m.name, index: index, count: members.count))
            let model = try CheckpointStore.loadModel(m.checkpoint, config: m.config)
            if !warned {
                for w in truncationWarnings(request.labels, templates: request.templates, tokenizer: tokenizer,
                                            contextLength: model.config.text.contextLength) { events(.warning(w)) }
                warned = true
            }
            if let first = features.first, first.dim != model.embedDim {
                throw EnsembleError.dimensionMismatch(file: m.checkpoint, dim: model.embedDim, expected: first.dim, reference: first.member)
            }
            let firstPass = names == nil
            let (n, f) = try ImageFeaturePass.run(model: model, inputs: inputs, batch: request.batch, normalise: true) { e in
                if case .skipped(let s) = e {
                    if firstPass { skipped.append(s); events(.images(e)) }
                    return
                }
                events(.images(e))
            }
            if let names {
                guard names == n else { throw EnsembleError.inconsistentImages(task: "classify", member: m.name) }
            } else {
                guard !n.isEmpty else {
                    throw InferenceError.invalid(request.paths.joined(separator: " "), "no readable image (\(skipped.count) skipped)")
                }
                names = n
            }
            let classifier = ZeroShotClassifier(model: model, tokenizer: tokenizer, classNames: request.labels, templates: request.templates)
            features.append(MemberFeatures(member: m.name, images: f, texts: classifier.weights))
            used.append(weights[index])
        }
        let paths = names ?? []
        let data = EnsembleTaskData(task: "classify", kind: .classification, classNames: request.labels, templates: request.templates,
                                    imageCount: paths.count, members: features)
        let logits = EnsembleScoring.classificationLogits(data, weights: used)
        let predictions = top(logits: logits, labels: request.labels, paths: paths, k: request.topK)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let summary = ClassifySummary(images: paths.count, skipped: skipped.count,
                                      imagesPerSecond: seconds > 0 ? Double(paths.count) / seconds : 0, routing: routing)
        return ClassifyResult(predictions: predictions, skipped: skipped, summary: summary)
    }

    /// The k most probable labels of each row of `logits` (images, labels): softmax of each row,
    /// then the k largest (ties: the lower label index).
    public static func top(logits: Tensor, labels: [String], paths: [String], k: Int) -> [ImagePrediction] {
        let n = paths.count, c = labels.count, k = min(k, c)
        guard n > 0 else { return [] }
        let probs = Tensor(shape: [n, c])
        Softmax.forward(probs.data, logits.data, rows: n, cols: c)
        var index = [Int32](repeating: 0, count: n * k)
        index.withUnsafeMutableBufferPointer { Reduce.topKRows($0.baseAddress!, probs.data, rows: n, cols: c, k: k) }
        return (0..<n).map { r in
            ImagePrediction(path: paths[r], top: (0..<k).map { j in
                let l = Int(index[r * k + j])
                return LabelProbability(label: labels[l], probability: Double(probs.data[r * c + l]))
            })
        }
    }

    /// One warning per label whose prompt with some template is longer than `contextLength`
    /// tokens (start and end tokens included): open_clip's tokenizer cuts it there.
    public static func truncationWarnings(_ labels: [String], templates: [String], tokenizer: CLIPTokenizer, contextLength: Int) -> [String] {
        labels.compactMap { label in
            for prompt in ZeroShotClassifier.prompts(label, templates: templates) {
                let n = tokenizer.encode(prompt).count + 2
                if n > contextLength {
                    return "label \"\(label)\": the prompt \"\(prompt)\" has \(n) tokens, more than the model's context of \(contextLength); it is truncated"
                }
            }
            return nil
        }
    }
}
