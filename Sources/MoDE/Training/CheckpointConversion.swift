import Foundation
import MoDEFormats
import MoDENN
import MoDEModels

/// `mode convert` as a library call: a CLIP checkpoint in any format `CLIPCheckpoint.open` reads,
/// written as an open_clip hub folder or a transformers CLIP folder.
public enum CheckpointConversion {
    /// The layout to write.
    public enum Format: String, CaseIterable, Sendable, Codable {
        /// `open_clip_model.safetensors` + `open_clip_config.json` (`CLIPModel.saveOpenCLIPFolder`).
        case openCLIP = "open_clip"
        /// `model.safetensors` + `config.json` (`CLIPModel.saveHuggingFaceFolder`).
        case huggingFace = "hf"
    }

    /// What a conversion did (`mode convert`'s JSON line).
    public struct Summary: Codable, Sendable, Equatable {
        public var checkpoint: String
        /// What was read, e.g. "transformers CLIP (safetensors)".
        public var from: String
        public var format: Format
        public var out: String
        /// The architecture's name (`Evaluation.modelName`).
        public var model: String
        public var activation: String
        public var parameters: Int
        /// Whether the written folder, read back, holds exactly the parameters read.
        public var verified: Bool
    }

    /// Reads `checkpoint` (`config` as in `CLIPModel.load`), writes it into folder `directory` in
    /// `format` (each file atomically, the weights first), reads the result back and checks
    /// that every parameter is bit-identical. Returns the summary and the opened checkpoint's
    /// description. Refuses to write into the folder the weights come from.
    public static func convert(checkpoint: String, config: String?, to directory: String,
                               format: Format) throws -> (summary: Summary, description: String) {
        let (model, opened) = try CheckpointStore.openModel(checkpoint, config: config)
        let source = URL(fileURLWithPath: FilePaths.parent(opened.file)).standardizedFileURL.path
        guard URL(fileURLWithPath: directory).standardizedFileURL.path != source else {
            throw CheckpointError.invalidState(file: directory, reason: "the output folder is the folder the weights come from; choose another")
        }
        switch format {
        case .openCLIP: try model.saveOpenCLIPFolder(directory)
        case .huggingFace: try model.saveHuggingFaceFolder(directory)
        }
        let back = try CLIPModel.load(checkpoint: directory, config: nil)
        let n = model.arena.values.count
        let same = back.config == model.config && back.arena.values.count == n
            && (0..<n).allSatisfy { back.arena.values.data[$0].bitPattern == model.arena.values.data[$0].bitPattern }
        guard same else {
            throw CheckpointError.invalidState(file: directory, reason: "the written checkpoint does not read back as the parameters written")
        }
        let summary = Summary(checkpoint: checkpoint, from: "\(opened.layout == .huggingFace ? "transformers CLIP" : "open_clip") (\(opened.container))",
                              format: format, out: directory, model: Evaluation.modelName(model.config),
                              activation: model.config.quickGELU ? "QuickGELU" : "GELU",
                              parameters: model.arena.parameterCount, verified: same)
        return (summary, opened.description)
    }
}
