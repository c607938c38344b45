// Uses the public API of MoDE as a dependency: a tiny CLIP model from its preset encodes a random
// image batch and a token batch, then balanced k-means clusters synthetic features. Prints one
// line per result for scripts/check_consumer.sh to check.
import MoDE

let blas = try BLAS.info()
print("blas \(blas.backend.rawValue)")

// CLIP: the `tiny` preset, initialised from a seed.
guard let config = CLIPConfig.presets["tiny"] else { fatalError("no tiny preset") }
let model = CLIPModel(config: config, seed: 0)
let batch = 4, side = config.vision.imageSize, context = config.text.contextLength
var rng = SeededRNG(seed: 1)
let images = Tensor.randn([batch, 3, side, side], rng: &rng)
var tokens = [Int32](repeating: 0, count: batch * context)
for b in 0..<batch {
    // [start of text] a few random tokens [end of text]; the end token has the largest id.
    let length = 3 + b
    tokens[b * context] = Int32(config.text.vocabSize - 2)
    for t in 1...length { tokens[b * context + t] = Int32(1 + rng.nextInt(1000)) }
    tokens[b * context + length + 1] = Int32(config.text.vocabSize - 1)
}
let imageFeatures = Tensor(shape: [batch, config.embedDim])
let textFeatures = Tensor(shape: [batch, config.embedDim])
model.encodeImage(imageFeatures.data, images.data, batch: batch)
tokens.withUnsafeBufferPointer { model.encodeText(textFeatures.data, $0.baseAddress!, batch: batch) }
let finite = (imageFeatures.array + textFeatures.array).allSatisfy { $0.isFinite }
print("image features \(imageFeatures.shape) text features \(textFeatures.shape) finite \(finite)")

// Balanced k-means on synthetic features: 8 well-separated blobs of 64 points in 16 dimensions.
let k = 8, perCluster = 64, d = 16
let points = Tensor(shape: [k * perCluster, d])
for c in 0..<k {
    for i in 0..<perCluster {
        let row = points.data + (c * perCluster + i) * d
        for j in 0..<d { row[j] = (j == c ? 10 : 0) + 0.1 * rng.nextNormal() }
    }
}
let result = try KMeans.fit(points, k: k, options: KMeansOptions(iterations: 5, seed: 0))
let sizes = result.sizes.map { Int($0) }.sorted()
print("kmeans k \(k) points \(result.points) sizes \(sizes)")
