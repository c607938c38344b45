import Foundation
import MoDEFormats

/// `open_clip_config.json` of open_clip's hub layout: the model config (`model_cfg`) and the
/// image preprocessing (`preprocess_cfg`), which open_clip's `create_model_and_transforms`
/// reads from a hub folder.
public struct OpenCLIPConfigFile: Codable, Sendable, Equatable {
    public var modelConfig: CLIPConfig
    public var preprocess: Preprocess?

    /// open_clip's `preprocess_cfg`.
    public struct Preprocess: Codable, Sendable, Equatable {
        public var mean: [Double]
        public var std: [Double]
        public var interpolation: String
        public var resizeMode: String
        public var size: Int

        enum CodingKeys: String, CodingKey {
            case mean, std, interpolation, resizeMode = "resize_mode", size
        }

        /// CLIP's preprocessing (OpenAI mean and std, bicubic resize of the shortest side) at `size`.
        public static func openAI(size: Int) -> Preprocess {
            Preprocess(mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711],
                       interpolation: "bicubic", resizeMode: "shortest", size: size)
        }
    }

    enum CodingKeys: String, CodingKey {
        case modelConfig = "model_cfg", preprocess = "preprocess_cfg"
    }

    /// The file for `model`, with CLIP's preprocessing at its image size.
    public init(model: CLIPConfig) {
        modelConfig = model
        preprocess = .openAI(size: model.vision.imageSize)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelConfig = try c.decode(CLIPConfig.self, forKey: .modelConfig)
        preprocess = try? c.decodeIfPresent(Preprocess.self, forKey: .preprocess)  // other layouts are open_clip's business
    }

    /// Pretty JSON with sorted keys.
    public func data() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }
}
