import Foundation
import MoDEModels
import MoDETensor
import TestSupport
import Testing
import MoDETokenizers

@Suite struct ZeroShotTests {
    @Test func classifierFromTextFeaturesByHand() {
        // 2 classes × 2 templates, E = 2. Class 0: (3, 4) and (1, 0) → units (0.6, 0.8), (1, 0) →
        // mean (0.8, 0.4) → (2, 1)/√5. Class 1: (0, 5) and (−1, 1) → (0, 1), (−1, 1)/√2 → mean
        // (−1/(2√2), (1 + 1/√2)/2), renormalised.
        let features: [Float] = [3, 4, 1, 0, 0, 5, -1, 1]
        let zs = features.withUnsafeBufferPointer { ZeroShotClassifier(textFeatures: $0.baseAddress!, classes: 2, templates: 2, dim: 2) }
        let r2: Double = 2.0.squareRoot(), r5: Double = 5.0.squareRoot()
        let a: Double = -1 / (2 * r2)
        let b: Double = (1 + 1 / r2) / 2
        let n: Double = (a * a + b * b).squareRoot()
        let values: [Float] = [Float(2 / r5), Float(1 / r5), Float(a / n), Float(b / n)]
        let expected = Tensor(shape: [2, 2], values: values)
        // A few float32 roundings of values of size 1: rel 1e-6.
        expectClose(zs.weights, expected, relTol: 1e-6, "classifier")
        // Image (2, 0) → unit (1, 0): logits = 100 · first column.
        let logits = Tensor(shape: [1, 2])
        let image: [Float] = [2, 0]
        image.withUnsafeBufferPointer { zs.logits(logits.data, imageFeatures: $0.baseAddress!, count: 1) }
        expectClose(logits, Tensor(shape: [1, 2], values: [100 * expected[0], 100 * expected[2]]), relTol: 1e-6, "logits")
    }

    @Test func promptsFillTheClassName() {
        #expect(ZeroShotClassifier.prompts("cat", templates: ["a photo of a {c}.", "{c}"]) == ["a photo of a cat.", "cat"])
    }

    @Test func accuracyAndMeanPerClassRecallByHand() {
        // 4 images, 3 classes. Labels 0, 0, 0, 1; top-1 predictions 0, 0, 1, 1; the third image's
        // label is its second choice, the first image's tie (classes 0 and 2) goes to class 0.
        let logits: [Float] = [
            5, 1, 5,
            3, 2, 1,
            2, 3, 1,
            0, 9, 1,
        ]
        let labels = [0, 0, 0, 1]
        logits.withUnsafeBufferPointer { l in
            let p = l.baseAddress!
            #expect(ZeroShotMetrics.topKAccuracy(logits: p, labels: labels, classes: 3, k: 1) == 0.75)
            #expect(ZeroShotMetrics.topKAccuracy(logits: p, labels: labels, classes: 3, k: 2) == 1)
            #expect(ZeroShotMetrics.topKAccuracy(logits: p, labels: labels, classes: 3, k: 5) == 1)
            // Recall: class 0 → 2/3, class 1 → 1/1; class 2 has no images and is left out.
            #expect(abs(ZeroShotMetrics.meanPerClassRecall(logits: p, labels: labels, classes: 3) - (2.0 / 3 + 1) / 2) < 1e-12)
        }
    }

    @Test func classifierFromAModelEncodesEveryPromptInClassOrder() throws {
        let tokenizer = try CLIPTokenizer()
        let config = CLIPConfig(embedDim: 8, vision: .init(imageSize: 8, patchSize: 4, width: 16, layers: 1, headWidth: 8),
                                text: .init(contextLength: 12, width: 16, heads: 2, layers: 1))
        let model = CLIPModel(config: config, seed: 5)
        let classes = ["cat", "dog"], templates = ["a photo of a {c}.", "a {c}", "art of the {c}"]
        // batch 4 over 6 prompts: a full batch and a partial one.
        let zs = ZeroShotClassifier(model: model, tokenizer: tokenizer, classNames: classes, templates: templates, batch: 4)
        let prompts = classes.flatMap { ZeroShotClassifier.prompts($0, templates: templates) }
        let ids = prompts.flatMap { tokenizer.tokenize($0, contextLength: 12) }
        let features = Tensor(shape: [6, 8])
        ids.withUnsafeBufferPointer { model.encodeText(features.data, $0.baseAddress!, batch: 6) }
        let expected = ZeroShotClassifier(textFeatures: features.data, classes: 2, templates: 3, dim: 8)
        // Same arithmetic in another batching: equal up to BLAS blocking, rel 1e-6.
        expectClose(zs.weights, expected.weights, relTol: 1e-6, "classifier")
    }
}
