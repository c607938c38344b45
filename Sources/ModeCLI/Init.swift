import ArgumentParser
import MoDE
import Foundation

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a CLIP model with open_clip's random initialisation, in open_clip's hub layout.",
        discussion: """
            Writes DIR/open_clip_model.safetensors (the state_dict, float32) and \
            DIR/open_clip_config.json ({"model_cfg": …}); open_clip loads them with \
            model.load_state_dict(safetensors.torch.load_file(…)).
            """)

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config: String
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var out: String

    func run() throws {
        let model = CLIPModel(config: try CLIPConfig.load(config), seed: seed)
        try model.saveOpenCLIPFolder(out)
        FileHandle.standardError.write(Data("wrote \(out): \(model.arena.parameterCount) parameters\n".utf8))
    }
}
