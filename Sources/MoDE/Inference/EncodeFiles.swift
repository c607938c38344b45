import Foundation
import MoDEFormats
import MoDEModels
import MoDETensor
import MoDETokenizers

/// `mode encode` on image files and raw texts: features (unnormalised, as open_clip's
/// `encode_image` / `encode_text` return them) written as safetensors, as `.npy` files, and the
/// keys of their rows (image paths, texts) in a JSON sidecar, every file atomically.
public enum EncodeFiles {
    /// What to encode and where the results go.
    public struct Request: Sendable {
        public var checkpoint: String
        /// Preset or JSON file; nil: the open_clip_config.json beside the weights.
        public var config: String?
        /// Image files, folders, globs or shards (see `InferenceInputs.expand`).
        public var imagePaths: [String] = []
        public var texts: [String] = []
        /// The safetensors file; the other outputs are named after it (see `outputs`).
        public var out: String
        public var batch = 64

        public init(checkpoint: String, config: String? = nil, out: String) {
            self.checkpoint = checkpoint
            self.config = config
            self.out = out
        }
    }

    /// The files written: OUT (safetensors with `image_features` and/or `text_features`),
    /// STEM.image_features.npy, STEM.text_features.npy and STEM.keys.json, STEM being OUT
    /// without its `.safetensors` extension.
    public struct Outputs: Codable, Sendable, Equatable {
        public var safetensors: String
        public var imageNPY: String?
        public var textNPY: String?
        public var keys: String

        enum CodingKeys: String, CodingKey { case safetensors, imageNPY = "image_npy", textNPY = "text_npy", keys }
    }

    /// The keys sidecar: row i of each feature array belongs to entry i of its list.
    public struct Keys: Codable, Sendable, Equatable {
        public var imageFeatures: [String]
        public var textFeatures: [String]
        public var skipped: [SkippedImage]

        enum CodingKeys: String, CodingKey { case imageFeatures = "image_features", textFeatures = "text_features", skipped }
    }

    /// `mode encode`'s JSON line.
    public struct Summary: Codable, Sendable, Equatable {
        public var outputs: Outputs
        public var images: Int
        public var texts: Int
        public var skipped: Int
        public var dim: Int
    }

    /// The output paths for `out`.
    public static func outputs(_ out: String, images: Bool, texts: Bool) -> Outputs {
        let stem = out.hasSuffix(".safetensors") ? String(out.dropLast(".safetensors".count)) : out
        return Outputs(safetensors: out, imageNPY: images ? stem + ".image_features.npy" : nil,
                       textNPY: texts ? stem + ".text_features.npy" : nil, keys: stem + ".keys.json")
    }

    public static func run(_ r: Request, events: (ImageFeaturePass.Event) -> Void = { _ in }) throws -> Summary {
        guard !r.imagePaths.isEmpty || !r.texts.isEmpty else { throw InferenceError.invalid("encode", "no images and no texts given") }
        guard r.batch > 0 else { throw InferenceError.invalid("--batch", "must be positive") }
        let inputs = try InferenceInputs.expand(r.imagePaths)
        let model = try CheckpointStore.loadModel(r.checkpoint, config: r.config)
        var names: [String] = [], skipped: [SkippedImage] = []
        var imageFeatures: Tensor?
        if !inputs.isEmpty {
            let (n, f) = try ImageFeaturePass.run(model: model, inputs: inputs, batch: r.batch, normalise: false) { e in
                if case .skipped(let s) = e { skipped.append(s) }
                events(e)
            }
            guard !n.isEmpty else { throw InferenceError.invalid(r.imagePaths.joined(separator: " "), "no readable image (\(skipped.count) skipped)") }
            names = n
            imageFeatures = f
        }
        var textFeatures: Tensor?
        if !r.texts.isEmpty {
            textFeatures = CLIPTextEncoder(tokenizer: try CLIPTokenizer(), model: model).features(r.texts, model: model, batch: r.batch, normalise: false)
        }
        let o = outputs(r.out, images: imageFeatures != nil, texts: textFeatures != nil)
        var writer = SafeTensorsWriter()
        if let imageFeatures { writer.add(CLIPFeatureFiles.imageFeaturesTensor, imageFeatures) }
        if let textFeatures { writer.add(CLIPFeatureFiles.textFeaturesTensor, textFeatures) }
        try writer.write(to: o.safetensors, metadata: ["format": "pt", "embed_dim": String(model.embedDim)])
        if let imageFeatures, let p = o.imageNPY { try NPYFile.write(imageFeatures, to: p) }
        if let textFeatures, let p = o.textNPY { try NPYFile.write(textFeatures, to: p) }
        try AtomicFile.write(JSONFile.data(Keys(imageFeatures: names, textFeatures: r.texts, skipped: skipped)), to: o.keys)
        return Summary(outputs: o, images: names.count, texts: r.texts.count, skipped: skipped.count, dim: model.embedDim)
    }
}
