import Foundation
import MoDETensor

/// An easy, fully deterministic paired task for tests and smoke runs: sample i belongs to class
/// c(i) of `classes`; its image is the class's fixed random pattern plus noise, its text is
/// [SOT, firstToken + c, EOT, 0…]. A model that learns the pairing drives the contrastive loss far
/// below ln(batch). Position = index of the next sample.
public final class SyntheticPairs: BatchSource {
    public let classes: Int
    public let imageSize: Int
    public let contextLength: Int
    public let seed: UInt64
    public let noise: Float
    public static let startOfText: Int32 = 49406
    public static let endOfText: Int32 = 49407
    public static let firstToken: Int32 = 320
    public private(set) var nextIndex = 0
    let patterns: Tensor

    public init(classes: Int, imageSize: Int, contextLength: Int, seed: UInt64, noise: Float = 0.5) {
        precondition(contextLength >= 3, "context length must hold SOT, a token and EOT")
        self.classes = classes
        self.imageSize = imageSize
        self.contextLength = contextLength
        self.seed = seed
        self.noise = noise
        var rng = SeededRNG(seed: seed ^ 0x5EED)
        patterns = Tensor.randn([classes, 3 * imageSize * imageSize], rng: &rng)
    }

    public var summary: String { "synthetic:\(classes)-classes,seed=\(seed)" }

    /// The class of sample `i`.
    public func label(_ i: Int) -> Int {
        var r = SeededRNG(seed: seed &+ UInt64(i) &* 0x9E37_79B9)
        return r.nextInt(classes)
    }

    public func next(images: UnsafeMutablePointer<Float>, texts: UnsafeMutablePointer<Int32>, batch: Int) throws {
        let n = 3 * imageSize * imageSize
        for b in 0..<batch {
            let i = nextIndex + b
            let c = label(i)
            var r = SeededRNG(seed: seed &+ UInt64(i) &* 0x9E37_79B9 &+ 1)
            let img = images + b * n, pat = patterns.data + c * n
            for k in 0..<n { img[k] = pat[k] + noise * r.nextNormal() }
            let t = texts + b * contextLength
            t.update(repeating: 0, count: contextLength)
            t[0] = SyntheticPairs.startOfText
            t[1] = SyntheticPairs.firstToken + Int32(c)
            t[2] = SyntheticPairs.endOfText
        }
        nextIndex += batch
    }

    public var position: DataPosition { .synthetic(next: nextIndex) }

    public func restore(_ position: DataPosition, stats: DataStats?) throws {
        guard case .synthetic(let n) = position, n >= 0 else {
            throw TrainingError.resumeMismatch("the checkpoint's data position is not a synthetic-source position (the run was trained on another source)")
        }
        nextIndex = n
    }

    /// The synthetic source reads no files and skips nothing.
    public var dataStats: DataStats? { nil }
}
