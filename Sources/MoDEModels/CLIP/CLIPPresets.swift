import Foundation
import MoDEFormats

extension CLIPConfig {
    /// Built-in configurations: the benchmark shapes `tiny`, `small`, `b16` and open_clip's
    /// `ViT-B-16`, `ViT-B-32`, `ViT-L-14`, `ViT-H-14` (GELU) and the `-quickgelu` variants of
    /// the first three (QuickGELU, as OpenAI's and MetaCLIP's weights were trained), with the
    /// shapes of open_clip's model_configs JSON files.
    public static let presets: [String: CLIPConfig] = {
        var p = basePresets
        for name in ["ViT-B-16", "ViT-B-32", "ViT-L-14"] {
            var q = p[name]!
            q.quickGELU = true
            p[name + "-quickgelu"] = q
        }
        return p
    }()

    private static let basePresets: [String: CLIPConfig] = [
        "tiny": CLIPConfig(embedDim: 128,
                           vision: .init(imageSize: 32, patchSize: 4, width: 128, layers: 4, headWidth: 64),
                           text: .init(contextLength: 32, width: 128, heads: 2, layers: 4)),
        "small": CLIPConfig(embedDim: 256,
                            vision: .init(imageSize: 64, patchSize: 8, width: 256, layers: 6, headWidth: 64),
                            text: .init(contextLength: 32, width: 256, heads: 4, layers: 6)),
        "b16": CLIPConfig(embedDim: 512,
                          vision: .init(imageSize: 224, patchSize: 16, width: 768, layers: 12, headWidth: 64),
                          text: .init(contextLength: 77, width: 512, heads: 8, layers: 12)),
        "ViT-B-16": CLIPConfig(embedDim: 512,
                               vision: .init(imageSize: 224, patchSize: 16, width: 768, layers: 12),
                               text: .init(contextLength: 77, width: 512, heads: 8, layers: 12)),
        "ViT-B-32": CLIPConfig(embedDim: 512,
                               vision: .init(imageSize: 224, patchSize: 32, width: 768, layers: 12),
                               text: .init(contextLength: 77, width: 512, heads: 8, layers: 12)),
        "ViT-L-14": CLIPConfig(embedDim: 768,
                               vision: .init(imageSize: 224, patchSize: 14, width: 1024, layers: 24),
                               text: .init(contextLength: 77, width: 768, heads: 12, layers: 12)),
        "ViT-H-14": CLIPConfig(embedDim: 1024,
                               vision: .init(imageSize: 224, patchSize: 14, width: 1280, layers: 32, headWidth: 80),
                               text: .init(contextLength: 77, width: 1024, heads: 16, layers: 24)),
    ]

    public static var presetNames: [String] { presets.keys.sorted() }

    /// A preset by name, or a JSON config file: open_clip's (a model config, or an
    /// `open_clip_config.json` whose `model_cfg` holds one) or a transformers CLIP `config.json`.
    public static func load(_ nameOrPath: String) throws -> CLIPConfig {
        if let p = presets[nameOrPath] { return p }
        guard FileManager.default.fileExists(atPath: nameOrPath) else { throw CLIPConfigError.unknownPreset(nameOrPath) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: nameOrPath)) } catch {
            throw CLIPConfigError.unreadable(nameOrPath, error.localizedDescription)
        }
        do {
            let json = try JSONValue.parse(data)
            if HuggingFaceCLIPConfig.describesCLIP(json) {
                return try JSONDecoder().decode(HuggingFaceCLIPConfig.self, from: data).clipConfig()
            }
            if let inner = json["model_cfg"] { return try JSONDecoder().decode(CLIPConfig.self, from: JSONEncoder().encode(inner)) }
            return try JSONDecoder().decode(CLIPConfig.self, from: data)
        } catch let e as CLIPConfigError {
            throw CLIPConfigError.unreadable(nameOrPath, e.description)
        } catch {
            throw CLIPConfigError.unreadable(nameOrPath, "not a valid open_clip model config JSON (\(error))")
        }
    }

    /// The config as open_clip model-config JSON (sorted keys).
    public func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }
}
