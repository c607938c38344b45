import ArgumentParser
import MoDE

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a CLIP checkpoint to an open_clip hub folder or a Hugging Face transformers CLIP folder.",
        discussion: """
            --checkpoint is anything `mode encode` reads: a .safetensors file (open_clip or \
            transformers names), a PyTorch .pt/.bin file (open_clip's epoch_N.pt needs --config), \
            an open_clip hub folder, a transformers CLIP folder, a checkpoint or run folder. --format open_clip writes open_clip_model.safetensors + \
            open_clip_config.json; --format hf writes model.safetensors + config.json, which \
            transformers.CLIPModel.from_pretrained loads. The result is read back and compared \
            before the JSON line is printed; what was read (architecture, activation and its \
            source) goes to stderr.
            """)

    @Option(help: "Model weights: a .safetensors or PyTorch .pt/.bin file, an open_clip or transformers folder, a checkpoint or run folder.") var checkpoint: String
    @Option(help: "Model config when the checkpoint carries none: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or a JSON file.")
    var config: String?
    @Option(help: "Output folder.") var to: String
    @Option(help: "Output layout: open_clip or hf.") var format: String

    func validate() throws {
        guard CheckpointConversion.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be one of: \(CheckpointConversion.Format.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let (summary, description) = try CheckpointConversion.convert(checkpoint: checkpoint, config: config, to: to,
                                                                      format: CheckpointConversion.Format(rawValue: format)!)
        printError(description)
        try printJSONLine(summary)
    }
}
