import Foundation
import Testing
@testable import MoDEModels

@Suite struct CLIPConfigTests {
    @Test func presetsAreValid() throws {
        for name in CLIPConfig.presetNames { try CLIPConfig.presets[name]!.validate() }
        let tiny = try CLIPConfig.load("tiny")
        #expect(tiny.vision.tokens == 65 && tiny.vision.heads == 2 && tiny.text.contextLength == 32)
        #expect(try CLIPConfig.load("b16").vision.heads == 12)
    }

    @Test func decodesOpenCLIPSchemaAndRoundTrips() throws {
        let json = """
        {"embed_dim": 512, "quick_gelu": true,
         "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32, "patch_dropout": 0.0},
         "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12, "ls_init_value": null}}
        """
        let c = try JSONDecoder().decode(CLIPConfig.self, from: Data(json.utf8))
        #expect(c == CLIPConfig(embedDim: 512, vision: .init(imageSize: 224, patchSize: 32, width: 768, layers: 12),
                                text: .init(), quickGELU: true))
        let back = try JSONDecoder().decode(CLIPConfig.self, from: c.jsonData())
        #expect(back == c)
    }

    @Test func rejectsWhatWouldChangeTheArchitecture() throws {
        let cases: [(String, String)] = [
            (#"{"embed_dim": 8, "vision_cfg": {"timm_model_name": "x"}, "text_cfg": {}}"#, "vision_cfg.timm_model_name"),
            (#"{"embed_dim": 8, "vision_cfg": {"layers": [3, 4, 6, 3]}, "text_cfg": {}}"#, "vision_cfg.layers"),
            (#"{"embed_dim": 8, "vision_cfg": {}, "text_cfg": {"pool_type": "first"}}"#, "text_cfg.pool_type"),
            (#"{"vision_cfg": {}, "text_cfg": {}}"#, "embed_dim"),
            (#"{"embed_dim": 8, "vision_cfg": {"image_size": 30, "patch_size": 4}, "text_cfg": {}}"#, "image_size"),
        ]
        for (json, field) in cases {
            do {
                _ = try JSONDecoder().decode(CLIPConfig.self, from: Data(json.utf8))
                Issue.record("accepted \(json)")
            } catch let e as CLIPConfigError {
                #expect(e.description.contains(field), "\(e.description) should name \(field)")
            }
        }
        #expect(throws: CLIPConfigError.self) { try CLIPConfig.load("no-such-model") }
    }
}
