import ArgumentParser
import MoDE
import Foundation

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode images and/or texts with a CLIP model; write unnormalised features (safetensors, .npy).",
        discussion: """
            Image files, folders, globs or .tar shards (PATHS, as `mode classify` takes them) and raw \
            texts (--text, repeatable; --text-file, one a line) are encoded into OUT (safetensors: \
            `image_features`, `text_features`), STEM.image_features.npy and STEM.text_features.npy \
            (numpy's format 1.0, little-endian float32, C order) and STEM.keys.json (the image paths \
            and texts of the rows, in order, and the skipped images), STEM being OUT without \
            `.safetensors`. Every file is written atomically.

            Inputs are safetensors files: --images holds `images` float32 (N, 3, S, S), already \
            preprocessed; --texts holds `texts` int32 or int64 (N, L) token ids (see `mode tokenize`). \
            The output holds `image_features` and/or `text_features` (N, E), as open_clip's \
            encode_image / encode_text return them (not normalised).

            --checkpoint is a .safetensors state_dict with open_clip's or transformers' CLIP names, an \
            open_clip hub folder (open_clip_config.json + open_clip_model.safetensors or \
            open_clip_pytorch_model.bin), a transformers CLIP folder (config.json + model.safetensors \
            or pytorch_model.bin), a PyTorch .pt/.bin file (open_clip's epoch_N.pt, a state dict), a \
            checkpoint folder or a run folder (its latest checkpoint). --config is a preset or a JSON config (open_clip's or transformers'); \
            without it the config file beside the model file is read. The architecture built, and \
            where its activation came from, is printed to stderr.
            """)

    @Option(help: "Model weights: a .safetensors or PyTorch .pt/.bin file, an open_clip or transformers folder, a checkpoint or run folder.") var checkpoint: String
    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config: String?
    @Option(help: "safetensors file with `images` (N, 3, S, S).") var images: String?
    @Option(help: "safetensors file with `texts` (N, L) token ids.") var texts: String?
    @Option(help: "A text to encode (repeatable).") var text: [String] = []
    @Option(help: "A file of texts to encode, one a line.") var textFile: String?
    @Option(help: "Output safetensors file.") var out: String
    @Option(help: "Rows per forward pass.") var batch = 64
    @OptionGroup(title: "Compute") var compute: ComputeOptions
    @Argument(help: "Image files, folders, globs or .tar shards to encode.") var paths: [String] = []

    var rawInputs: Bool { !paths.isEmpty || !text.isEmpty || textFile != nil }

    func validate() throws {
        guard images != nil || texts != nil || rawInputs else { throw ValidationError("give images or texts to encode") }
        guard !rawInputs || (images == nil && texts == nil) else {
            throw ValidationError("--images/--texts (preprocessed tensors) and PATHS/--text/--text-file do not mix")
        }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        try compute.apply()
        if rawInputs {
            var request = EncodeFiles.Request(checkpoint: checkpoint, config: config, out: out)
            request.imagePaths = paths
            request.texts = text + (try textFile.map { try InferenceInputs.lines(ofFile: $0) } ?? [])
            request.batch = batch
            let bar = ProgressBar("encode", total: nil, unit: "images")
            let summary = try EncodeFiles.run(request) { event in
                switch event {
                case .progress(let done, let total): bar.total = total; bar.update(done)
                case .skipped(let s): bar.interrupt("skipped \(s.path): \(s.reason)")
                }
            }
            bar.finish()
            try printJSONLine(summary)
            return
        }
        let (model, opened) = try CheckpointStore.openModel(checkpoint, config: config)
        printError(opened.description)
        let bar = ProgressBar("encode", total: nil, unit: "rows")
        let summary = try CLIPFeatureFiles.encode(model: model, images: images, texts: texts, out: out, batch: batch) { done, _ in
            bar.update(done)
        }
        bar.finish()
        try printJSONLine(summary)
    }
}
