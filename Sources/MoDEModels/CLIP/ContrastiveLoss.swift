import Foundation
import MoDENN
import MoDETensor
import RealModule

/// open_clip's `ClipLoss` on one process: with u = normalise(image features), v = normalise(text
/// features) and s = exp(logit_scale),
///
///     logits = s · u · vᵀ (B, B);  loss = (CE(logits, arange) + CE(logitsᵀ, arange)) / 2
///
/// and its backward to the raw features and to logit_scale.
public enum ContrastiveLoss {
    /// Forward values the backward needs, and its scratch, for up to `capacity` pairs. Allocate
    /// once and reuse.
    public final class Cache {
        public let capacity: Int
        public let dim: Int
        /// Pairs of the last forward.
        public internal(set) var batch = 0
        /// exp(logit_scale) of the last forward.
        public internal(set) var scale: Float = 0
        /// Normalised features (capacity, E) and the raw features' norms (capacity).
        let imageUnit: Tensor, textUnit: Tensor
        let imageNorms: Tensor, textNorms: Tensor
        /// logits (B, B) and their transpose, as computed (read by the logit-scale gradient).
        let logits: Tensor, logitsT: Tensor
        /// Softmax of the rows of `logits` and of `logitsT` (B, B); the backward turns them into
        /// the logits' gradients in place.
        let probs: Tensor, probsT: Tensor
        /// 0..<capacity, the matching pair of each row.
        let targets: [Int32]
        /// Gradients of the normalised features (capacity, E).
        let dImageUnit: Tensor, dTextUnit: Tensor

        public init(batch capacity: Int, dim: Int) {
            self.capacity = capacity
            self.dim = dim
            imageUnit = Tensor(shape: [capacity, dim])
            textUnit = Tensor(shape: [capacity, dim])
            imageNorms = Tensor(shape: [capacity])
            textNorms = Tensor(shape: [capacity])
            logits = Tensor(shape: [capacity, capacity])
            logitsT = Tensor(shape: [capacity, capacity])
            probs = Tensor(shape: [capacity, capacity])
            probsT = Tensor(shape: [capacity, capacity])
            targets = (0..<capacity).map { Int32($0) }
            dImageUnit = Tensor(shape: [capacity, dim])
            dTextUnit = Tensor(shape: [capacity, dim])
        }
    }

    /// The loss of image features (B, E) and text features (B, E), unnormalised, with the learned
    /// `logitScale` (before exp). Fills `cache` for `backward`.
    public static func forward(_ imageFeatures: UnsafePointer<Float>, _ textFeatures: UnsafePointer<Float>,
                               logitScale: Float, batch: Int, cache: Cache) -> Float {
        precondition(batch > 0 && batch <= cache.capacity, "batch \(batch) outside 1...\(cache.capacity)")
        cache.batch = batch
        let (b, e) = (batch, cache.dim)
        let s = Foundation.exp(logitScale)
        cache.scale = s
        L2Normalize.forward(cache.imageUnit.data, cache.imageNorms.data, imageFeatures, rows: b, cols: e)
        L2Normalize.forward(cache.textUnit.data, cache.textNorms.data, textFeatures, rows: b, cols: e)
        // logits = s · u · vᵀ; logitsT = s · v · uᵀ (computed, like open_clip, not transposed)
        Matmul.gemm(cache.logits.data, cache.imageUnit.data, cache.textUnit.data, m: b, n: b, k: e, transB: true, alpha: s)
        Matmul.gemm(cache.logitsT.data, cache.textUnit.data, cache.imageUnit.data, m: b, n: b, k: e, transB: true, alpha: s)
        return cache.targets.withUnsafeBufferPointer { t in
            let li = CrossEntropy.forward(cache.probs.data, cache.logits.data, targets: t.baseAddress!, rows: b, classes: b)
            let lt = CrossEntropy.forward(cache.probsT.data, cache.logitsT.data, targets: t.baseAddress!, rows: b, classes: b)
            return (li + lt) / 2
        }
    }

    /// Backward of the last `forward`: writes dImage (B, E) and dText (B, E), the gradients of
    /// the raw features, and returns d loss / d logit_scale.
    public static func backward(dImage: UnsafeMutablePointer<Float>, dText: UnsafeMutablePointer<Float>,
                                cache: Cache) -> Float {
        let (b, e, s) = (cache.batch, cache.dim, cache.scale)
        let gA = cache.probs.data, gB = cache.probsT.data
        cache.targets.withUnsafeBufferPointer { t in
            CrossEntropy.backward(gA, gA, targets: t.baseAddress!, rows: b, classes: b, scale: 0.5)
            CrossEntropy.backward(gB, gB, targets: t.baseAddress!, rows: b, classes: b, scale: 0.5)
        }
        // logits = s·u·vᵀ, logitsT = s·v·uᵀ: du = s·(gA·v + gBᵀ·v), dv = s·(gAᵀ·u + gB·u)
        let u = cache.imageUnit.data, v = cache.textUnit.data
        let du = cache.dImageUnit.data, dv = cache.dTextUnit.data
        Matmul.gemm(du, gA, v, m: b, n: e, k: b, alpha: s)
        Matmul.gemm(du, gB, v, m: b, n: e, k: b, transA: true, alpha: s, beta: 1)
        Matmul.gemm(dv, gA, u, m: b, n: e, k: b, transA: true, alpha: s)
        Matmul.gemm(dv, gB, u, m: b, n: e, k: b, alpha: s, beta: 1)
        L2Normalize.backward(dImage, du, u, cache.imageNorms.data, rows: b, cols: e)
        L2Normalize.backward(dText, dv, v, cache.textNorms.data, rows: b, cols: e)
        // d/d(logit_scale) = Σ g ⊙ ∂logits/∂(logit_scale) = Σ g ⊙ logits (since ∂s/∂(logit_scale) = s)
        let dScale = Reduce.dot(gA, cache.logits.data, count: b * b) + Reduce.dot(gB, cache.logitsT.data, count: b * b)
        return Float(dScale)
    }

    /// Naive reference of forward and backward together, in any precision: returns the loss,
    /// the raw features' gradients (B·E each) and d loss / d logit_scale.
    public static func reference<T: Real & BinaryFloatingPoint>(image: [T], text: [T], logitScale: T, batch b: Int, dim e: Int)
        -> (loss: T, dImage: [T], dText: [T], dLogitScale: T) {
        func normalise(_ x: [T]) -> ([T], [T]) {
            var y = x, norms = [T](repeating: 0, count: b)
            for r in 0..<b {
                var s: T = 0
                for c in 0..<e { s += x[r * e + c] * x[r * e + c] }
                norms[r] = s.squareRoot()
                for c in 0..<e { y[r * e + c] = x[r * e + c] / Swift.max(norms[r], 1e-12) }
            }
            return (y, norms)
        }
        let (u, nu) = normalise(image), (v, nv) = normalise(text)
        let s = T.exp(logitScale)
        var dots = [T](repeating: 0, count: b * b)  // u_i · v_j
        for i in 0..<b { for j in 0..<b { for c in 0..<e { dots[i * b + j] += u[i * e + c] * v[j * e + c] } } }
        // g[i][j] = d loss / d logits[i][j], both cross-entropies folded into the image-side matrix.
        var loss: T = 0
        var g = [T](repeating: 0, count: b * b)
        for side in 0..<2 {
            for r in 0..<b {
                let row = (0..<b).map { k in s * (side == 0 ? dots[r * b + k] : dots[k * b + r]) }
                let m = row.max()!
                let z = row.reduce(T(0)) { $0 + T.exp($1 - m) }
                loss += (T.log(z) + m - row[r]) / T(2 * b)
                for k in 0..<b {
                    let p = T.exp(row[k] - m) / z - (k == r ? 1 : 0)
                    if side == 0 { g[r * b + k] += p / T(2 * b) } else { g[k * b + r] += p / T(2 * b) }
                }
            }
        }
        var dLogitScale: T = 0
        for i in 0..<(b * b) { dLogitScale += g[i] * s * dots[i] }
        var du = [T](repeating: 0, count: b * e), dv = [T](repeating: 0, count: b * e)
        for i in 0..<b {
            for j in 0..<b {
                for c in 0..<e {
                    du[i * e + c] += s * g[i * b + j] * v[j * e + c]
                    dv[j * e + c] += s * g[i * b + j] * u[i * e + c]
                }
            }
        }
        func normaliseBackward(_ dy: [T], _ y: [T], _ norms: [T]) -> [T] {
            var dx = dy
            for r in 0..<b {
                var dot: T = 0
                for c in 0..<e { dot += y[r * e + c] * dy[r * e + c] }
                for c in 0..<e { dx[r * e + c] = (dy[r * e + c] - y[r * e + c] * dot) / norms[r] }
            }
            return dx
        }
        return (loss, normaliseBackward(du, u, nu), normaliseBackward(dv, v, nv), dLogitScale)
    }
}
