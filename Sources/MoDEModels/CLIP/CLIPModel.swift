import Foundation
import MoDENN
import MoDETensor

/// open_clip's `CLIP`: a vision tower under `visual.*`, the text tower at the top level and
/// `logit_scale` (shape []), all in one parameter arena whose names are the state_dict keys.
/// Holds its own forward caches (sized for the largest batch seen, allocated once per size),
/// so one instance serves one thread at a time.
public final class CLIPModel {
    public let config: CLIPConfig
    public let visual: VisionTransformer
    public let text: TextTransformer
    /// `logit_scale`, the learned temperature before exp (open_clip: init ln(1/0.07), clamped to
    /// [0, ln 100]).
    public let logitScaleParam: Param
    public let arena: ParameterArena

    /// E
    public var embedDim: Int { config.embedDim }
    /// Largest logit scale value open_clip's training loop allows: ln 100.
    public static let maxLogitScale = Float(Foundation.log(100.0))

    private var imageInference: VisionTransformer.Cache?
    private var textInference: TextTransformer.Cache?
    private var training: TrainingCache?

    /// A model of `config` with every parameter zero (load or initialise it next). With
    /// `gradients` false the arena has no gradient buffer (inference only: half the memory);
    /// `forwardBackward` then stops with a precondition failure.
    public init(config: CLIPConfig, gradients: Bool = true) {
        self.config = config
        let builder = ParameterBuilder()
        let root = builder.scoped("")
        let activation: Activation = config.quickGELU ? .quickGELU : .gelu
        visual = VisionTransformer(root.scoped("visual"), config: config.vision, embedDim: config.embedDim, activation: activation)
        text = TextTransformer(root, config: config.text, embedDim: config.embedDim, activation: activation)
        logitScaleParam = root.add("logit_scale", [])
        arena = builder.build(gradients: gradients)
    }

    /// A model of `config` with open_clip's initialisation drawn from `seed`.
    public convenience init(config: CLIPConfig, seed: UInt64) {
        self.init(config: config)
        var rng = SeededRNG(seed: seed)
        initParameters(rng: &rng)
    }

    /// open_clip's initialisation (see the towers' `initParameters`); logit_scale =
    /// `config.initLogitScale`.
    public func initParameters(rng: inout SeededRNG) {
        visual.initParameters(arena, rng: &rng)
        text.initParameters(arena, rng: &rng)
        arena.initConstant(logitScaleParam, Float(config.initLogitScale))
    }

    /// The current logit scale, before exp.
    public var logitScaleValue: Float {
        get { arena.value(logitScaleParam)[0] }
        set { arena.value(logitScaleParam)[0] = newValue }
    }

    /// The current temperature, exp(logit_scale) (what open_clip's forward returns).
    public var logitScale: Float { Foundation.exp(logitScaleValue) }

    /// Clamps logit_scale to [0, ln 100], as open_clip's training loop does after each optimizer step.
    public func clampLogitScale() {
        logitScaleValue = min(max(logitScaleValue, 0), Self.maxLogitScale)
    }

    // MARK: inference

    /// features (B, E) = encode_image(images (B, 3, S, S)), unnormalised, as open_clip's.
    public func encodeImage(_ features: UnsafeMutablePointer<Float>, _ images: UnsafePointer<Float>, batch: Int) {
        if (imageInference?.capacity ?? 0) < batch {
            imageInference = VisionTransformer.Cache(visual, batch: batch, inference: true)
        }
        Profiler.region("vision.fwd") { visual.forward(features, images, batch: batch, cache: imageInference!, arena) }
    }

    /// features (B, E) = encode_text(ids (B, L)), unnormalised, as open_clip's. Ids must lie in
    /// 0..<V (see `validateTokenIDs`).
    public func encodeText(_ features: UnsafeMutablePointer<Float>, _ ids: UnsafePointer<Int32>, batch: Int) {
        if (textInference?.capacity ?? 0) < batch {
            textInference = TextTransformer.Cache(text, batch: batch, inference: true)
        }
        Profiler.region("text.fwd") { text.forward(features, ids, batch: batch, cache: textInference!, arena) }
    }

    /// Frees the inference caches (they are rebuilt on the next encode).
    public func releaseInferenceCaches() {
        imageInference = nil
        textInference = nil
    }

    // MARK: training

    /// Everything one training step keeps, for up to `capacity` pairs.
    final class TrainingCache {
        let capacity: Int
        let vision: VisionTransformer.Cache
        let text: TextTransformer.Cache
        let loss: ContrastiveLoss.Cache
        /// Raw features (capacity, E) and their gradients.
        let imageFeatures: Tensor, textFeatures: Tensor
        let dImage: Tensor, dText: Tensor

        init(_ model: CLIPModel, batch capacity: Int) {
            self.capacity = capacity
            let e = model.embedDim
            vision = VisionTransformer.Cache(model.visual, batch: capacity)
            text = TextTransformer.Cache(model.text, batch: capacity)
            loss = ContrastiveLoss.Cache(batch: capacity, dim: e)
            imageFeatures = Tensor(shape: [capacity, e])
            textFeatures = Tensor(shape: [capacity, e])
            dImage = Tensor(shape: [capacity, e])
            dText = Tensor(shape: [capacity, e])
        }
    }

    /// Allocates the training caches for batches up to `batch` now (otherwise the first step does).
    public func reserveTraining(batch: Int) {
        if (training?.capacity ?? 0) < batch { training = TrainingCache(self, batch: batch) }
    }

    /// Frees the training caches.
    public func releaseTrainingCaches() { training = nil }

    /// One training step's gradient: zeroes the arena's gradients, runs both towers on images
    /// (B, 3, S, S) and token ids (B, L), the contrastive loss, and the full backward, leaving
    /// d loss / d parameter in the arena's gradients; returns the loss. Clipping, the optimizer
    /// step and `clampLogitScale` are the caller's.
    @discardableResult
    public func forwardBackward(images: UnsafePointer<Float>, texts: UnsafePointer<Int32>, batch: Int) -> Float {
        precondition(arena.grads.count == arena.values.count, "forwardBackward on an inference-only CLIPModel (built with gradients: false)")
        reserveTraining(batch: batch)
        let t = training!
        Profiler.region("zero_grad") { arena.zeroGrad() }
        Profiler.region("vision.fwd") { visual.forward(t.imageFeatures.data, images, batch: batch, cache: t.vision, arena) }
        Profiler.region("text.fwd") { text.forward(t.textFeatures.data, texts, batch: batch, cache: t.text, arena) }
        let loss = Profiler.region("loss") {
            let loss = ContrastiveLoss.forward(t.imageFeatures.data, t.textFeatures.data, logitScale: logitScaleValue,
                                               batch: batch, cache: t.loss)
            arena.grad(logitScaleParam)[0] += ContrastiveLoss.backward(dImage: t.dImage.data, dText: t.dText.data, cache: t.loss)
            return loss
        }
        Profiler.region("text.bwd") { text.backward(dFeatures: t.dText.data, cache: t.text, arena) }
        Profiler.region("vision.bwd") { visual.backward(dFeatures: t.dImage.data, cache: t.vision, arena) }
        return loss
    }

    /// The raw features of the last `forwardBackward`: image and text (B, E) each. Valid until the
    /// next step.
    public var lastTrainingFeatures: (image: UnsafePointer<Float>, text: UnsafePointer<Float>)? {
        training.map { (UnsafePointer($0.imageFeatures.data), UnsafePointer($0.textFeatures.data)) }
    }

    // MARK: input checks

    /// Throws `CLIPInputError.tokenOutOfRange` naming `source` and the element (`firstIndex` + i)
    /// when an id of ids (count) lies outside 0..<V.
    public func validateTokenIDs(_ ids: UnsafePointer<Int32>, count: Int, source: String, firstIndex: Int = 0) throws {
        let v = text.vocabularySize
        for i in 0..<count where ids[i] < 0 || Int(ids[i]) >= v {
            throw CLIPInputError.tokenOutOfRange(source: source, index: firstIndex + i, id: Int(ids[i]), vocabulary: v)
        }
    }
}

/// A problem with a CLIP model's inputs, naming their source.
public enum CLIPInputError: Error, CustomStringConvertible, Equatable {
    case tokenOutOfRange(source: String, index: Int, id: Int, vocabulary: Int)
    case badShape(source: String, tensor: String, found: [Int], expected: String)
    case badDType(source: String, tensor: String, found: String, expected: String)
    case missingTensor(source: String, tensor: String)
    case countMismatch(String)

    public var description: String {
        switch self {
        case let .tokenOutOfRange(s, i, id, v): return "\(s): token id \(id) at element \(i) is outside the vocabulary 0..<\(v)"
        case let .badShape(s, t, f, e): return "\(s): tensor \(t) has shape \(f), expected \(e)"
        case let .badDType(s, t, f, e): return "\(s): tensor \(t) has dtype \(f), expected \(e)"
        case let .missingTensor(s, t): return "\(s): no tensor named \(t)"
        case let .countMismatch(m): return m
        }
    }
}
