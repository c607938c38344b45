import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import Testing
import TestSupport
@testable import MoDE

@Suite struct LearningTests {
    /// A small CLIP trained on the synthetic paired task: the loss must fall well below
    /// ln(batch) (chance) and image→text retrieval on fresh pairs must be far above chance.
    @Test func clipLearnsTheSyntheticPairing() throws {
        let cfg = CLIPConfig(embedDim: 32, vision: .init(imageSize: 16, patchSize: 8, width: 32, layers: 1, headWidth: 16),
                             text: .init(contextLength: 8, width: 32, heads: 2, layers: 1))
        let model = CLIPModel(config: cfg, seed: 1)
        let batch = 16
        model.reserveTraining(batch: batch)
        let source = SyntheticPairs(classes: 16, imageSize: 16, contextLength: 8, seed: 2, noise: 0.3)
        var o = TrainingOptions(batch: batch, steps: 80)
        o.lr = 3e-3
        o.warmup = 5
        o.saveEvery = 0
        let dir = try TempDirectory()
        let trainer = try Trainer(runDirectory: dir.path, model: model, source: source, parameters: RunParameters(options: o, data: source.summary),
                                  start: .fresh, imageSize: 16, contextLength: 8)
        var losses: [Float] = []
        try trainer.run(onStep: { losses.append($0.loss) })
        let tail = losses.suffix(10).reduce(0, +) / 10
        #expect(tail < 0.5 * log(Float(batch)), "final loss \(tail), chance \(log(Float(batch)))")

        // Retrieval on 64 fresh pairs: is the nearest text of each image one of its class?
        let n = 64
        let images = Tensor(shape: [n, 3, 16, 16])
        let texts = UnsafeMutablePointer<Int32>.allocate(capacity: n * 8)
        defer { texts.deallocate() }
        let first = 100_000
        let fresh = SyntheticPairs(classes: 16, imageSize: 16, contextLength: 8, seed: 2, noise: 0.3)
        try fresh.restore(.synthetic(next: first), stats: nil)
        try fresh.next(images: images.data, texts: texts, batch: n)
        let fi = Tensor(shape: [n, 32]), ft = Tensor(shape: [n, 32])
        model.encodeImage(fi.data, images.data, batch: n)
        model.encodeText(ft.data, texts, batch: n)
        var correct = 0
        for i in 0..<n {
            var best = -Float.infinity, arg = 0
            for j in 0..<n {
                var dot: Float = 0, ni: Float = 0, nj: Float = 0
                for k in 0..<32 { dot += fi[i * 32 + k] * ft[j * 32 + k]; ni += fi[i * 32 + k] * fi[i * 32 + k]; nj += ft[j * 32 + k] * ft[j * 32 + k] }
                let c = dot / (ni.squareRoot() * nj.squareRoot())
                if c > best { best = c; arg = j }
            }
            if fresh.label(first + arg) == fresh.label(first + i) { correct += 1 }
        }
        #expect(Double(correct) / Double(n) > 0.5, "retrieval accuracy \(correct)/\(n), chance ≈ 1/16")
    }
}
