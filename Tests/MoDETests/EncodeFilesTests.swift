import Foundation
import Testing
import TestSupport
@testable import MoDE

@Suite struct EncodeFilesTests {
    @Test func npyHeaderFollowsNumpysFormat() throws {
        // numpy's format 1.0: "\x93NUMPY", major 1, minor 0, header length 118 (little-endian UInt16),
        // the dict literal (59 bytes for shape (3, 4)), 58 spaces and "\n": 10 + 118 = 128, a multiple of 64.
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
        let expected: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00]
            + Array(dict.utf8) + Array(repeating: 0x20, count: 58) + [0x0A]
        #expect(NPYFile.header(shape: [3, 4]) == expected)
        // One dimension: "(5,)", 57 bytes, so 60 spaces.
        let one = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"
        #expect(NPYFile.header(shape: [5]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00]
            + Array(one.utf8) + Array(repeating: 0x20, count: 60) + [0x0A])
        // Data: little-endian float32 in C order after the header (1.5 = 0x3FC00000).
        let dir = try TempDirectory()
        let t = Tensor(shape: [1, 2])
        t.data[0] = 1.5; t.data[1] = -2
        try NPYFile.write(t, to: dir.file("x.npy"))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("x.npy"))))
        #expect(bytes.count == 128 + 8)
        #expect(Array(bytes[128...]) == [0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0])
    }

    @Test func encodesImagePathsAndTextsWithKeys() throws {
        let dir = try TempDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("img"), withIntermediateDirectories: true)
        var rng = SeededRNG(seed: 9)
        for name in ["b.png", "a.png"] { try Data(encodePNG(smoothRandomImage(width: 40, height: 36, grid: 3, rng: &rng))).write(to: URL(fileURLWithPath: dir.file("img/" + name))) }
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.file("img/c.jpg")))
        let member = try tinyMember(dir, "m", seed: 3)
        var request = EncodeFiles.Request(checkpoint: member.checkpoint, out: dir.file("out.safetensors"))
        request.imagePaths = [dir.file("img")]
        request.texts = ["a dog", "two cats"]
        request.batch = 1
        let summary = try EncodeFiles.run(request)
        #expect(summary.images == 2 && summary.texts == 2 && summary.skipped == 1 && summary.dim == 16)
        #expect(summary.outputs == EncodeFiles.Outputs(safetensors: dir.file("out.safetensors"), imageNPY: dir.file("out.image_features.npy"),
                                                       textNPY: dir.file("out.text_features.npy"), keys: dir.file("out.keys.json")))
        let keys = try JSONDecoder().decode(EncodeFiles.Keys.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("out.keys.json"))))
        #expect(keys.imageFeatures == [dir.file("img/a.png"), dir.file("img/b.png")] && keys.textFeatures == ["a dog", "two cats"])
        #expect(keys.skipped.map(\.path) == [dir.file("img/c.jpg")])
        // The .npy data equals the safetensors tensors, and the image rows are the model's features.
        let st = try SafeTensorsFile(path: dir.file("out.safetensors"))
        for (name, npy) in [("image_features", "out.image_features.npy"), ("text_features", "out.text_features.npy")] {
            let values = try st.tensor(name).array
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file(npy))))
            let data = bytes[128...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(data == values && values.count == 2 * 16, "\(name)")
        }
        let model = try CheckpointStore.loadModel(member.checkpoint, config: nil)
        let pixels = CLIPPreprocessor(size: 32).eval(try decodeImage([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("img/a.png"))))))
        let f = Tensor(shape: [1, 16])
        pixels.withUnsafeBufferPointer { model.encodeImage(f.data, $0.baseAddress!, batch: 1) }
        #expect(Array(try st.tensor("image_features").array[0..<16]) == f.array)
    }
}
