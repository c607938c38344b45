import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import TestSupport
import Testing
import MoDEFormats

@Suite struct FeatureFilesTests {
    @Test func encodesInBatchesLikeTheModelAndAcceptsInt64AndF16() throws {
        let model = smallModel()
        var rng = SeededRNG(seed: 6)
        let n = 5, e = model.embedDim
        let images = Tensor.randn([n, 3, 8, 8], rng: &rng)
        let ids = tokenRows([2, 5, 3, 1, 4], length: 6, rng: &rng)
        let tmp = try TempDirectory()
        var w = SafeTensorsWriter()
        w.add("images", images, as: .f16)
        w.add("texts", int64s: ids.map(Int64.init), shape: [n, 6])
        try w.write(to: tmp.file("in.safetensors"))
        let summary = try CLIPFeatureFiles.encode(model: model, images: tmp.file("in.safetensors"), texts: tmp.file("in.safetensors"),
                                                  out: tmp.file("out.safetensors"), batch: 2)
        #expect(summary.images == n && summary.texts == n)
        let out = try SafeTensorsFile(path: tmp.file("out.safetensors"))
        // The model on the F16-rounded images, all rows at once.
        let rounded = try SafeTensorsFile(path: tmp.file("in.safetensors")).tensor("images")
        let img = Tensor(shape: [n, e]), txt = Tensor(shape: [n, e])
        model.encodeImage(img.data, rounded.data, batch: n)
        ids.withUnsafeBufferPointer { model.encodeText(txt.data, $0.baseAddress!, batch: n) }
        // Batches of 2 against one batch of 5: BLAS blocking only, rel 1e-5.
        expectClose(try out.tensor("image_features"), img, relTol: 1e-5, "image features")
        expectClose(try out.tensor("text_features"), txt, relTol: 1e-5, "text features")
        #expect(out.info("image_features")?.dtype == .f32)
    }

    @Test func wrongInputsAreErrorsNamingTheFileAndTensor() throws {
        let model = smallModel()
        let tmp = try TempDirectory()
        func file(_ name: String, _ build: (inout SafeTensorsWriter) -> Void) throws -> String {
            var w = SafeTensorsWriter()
            build(&w)
            try w.write(to: tmp.file(name))
            return tmp.file(name)
        }
        func expectError(images: String? = nil, texts: String? = nil, _ expected: CLIPInputError,
                         sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(throws: expected, sourceLocation: sourceLocation) {
                _ = try CLIPFeatureFiles.encode(model: model, images: images, texts: texts, out: tmp.file("out.safetensors"), batch: 4)
            }
        }
        let wrongSize = try file("size.safetensors") { $0.add("images", Tensor(shape: [2, 3, 16, 16])) }
        expectError(images: wrongSize, .badShape(source: wrongSize, tensor: "images", found: [2, 3, 16, 16], expected: "(N, 3, 8, 8)"))
        let intImages = try file("int.safetensors") { $0.add("images", int32s: [Int32](repeating: 0, count: 192), shape: [1, 3, 8, 8]) }
        expectError(images: intImages, .badDType(source: intImages, tensor: "images", found: "I32", expected: "F32 (or F16, BF16, F64)"))
        let named = try file("named.safetensors") { $0.add("pixels", Tensor(shape: [1, 3, 8, 8])) }
        expectError(images: named, .missingTensor(source: named, tensor: "images"))
        let floatTexts = try file("ftexts.safetensors") { $0.add("texts", Tensor(shape: [1, 6])) }
        expectError(texts: floatTexts, .badDType(source: floatTexts, tensor: "texts", found: "F32", expected: "I32 or I64"))
        let longTexts = try file("long.safetensors") { $0.add("texts", int32s: [Int32](repeating: 1, count: 14), shape: [2, 7]) }
        expectError(texts: longTexts, .badShape(source: longTexts, tensor: "texts", found: [2, 7], expected: "(N, 6)"))
        // Row 5 (second batch of 4), position 2 holds 40, outside the vocabulary of 40: element 32.
        var ids = [Int32](repeating: 1, count: 6 * 6)
        ids[5 * 6 + 2] = 40
        let outOfRange = try file("range.safetensors") { $0.add("texts", int32s: ids, shape: [6, 6]) }
        expectError(texts: outOfRange, .tokenOutOfRange(source: outOfRange + ": tensor texts", index: 32, id: 40, vocabulary: 40))
        #expect(!FileManager.default.fileExists(atPath: tmp.file("out.safetensors")))
    }
}
