import MoDETensor

/// open_clip's `conv1`: `nn.Conv2d(channels, C, kernel_size: P, stride: P, bias: false)`,
/// `weight` (C, channels, P, P), applied to images (B, channels, H, W) and flattened to patch
/// tokens (B, N, C), N = (H/P)·(W/P) in row-major grid order. Computed as one GEMM on the
/// unfolded patches (B·N, channels·P·P), each patch in (channel, ky, kx) order. Pixels past the
/// last whole patch (when P does not divide H or W) are ignored, as the convolution does.
public struct PatchEmbedding: Sendable {
    public let weight: Param
    public let channels: Int
    public let width: Int
    public let patchSize: Int
    public let imageHeight: Int
    public let imageWidth: Int
    public var gridHeight: Int { imageHeight / patchSize }
    public var gridWidth: Int { imageWidth / patchSize }
    /// Patches per image, N.
    public var patches: Int { gridHeight * gridWidth }
    /// Values per patch, channels·P·P.
    public var patchDim: Int { channels * patchSize * patchSize }

    /// Declares `weight` (C, channels, P, P) under `scope` (e.g. `visual.conv1`).
    public init(_ scope: ParameterScope, width: Int, patchSize: Int, imageHeight: Int, imageWidth: Int, channels: Int = 3) {
        precondition(patchSize > 0 && imageHeight >= patchSize && imageWidth >= patchSize,
                     "patch size \(patchSize) does not fit images \(imageHeight)×\(imageWidth)")
        self.channels = channels
        self.width = width
        self.patchSize = patchSize
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        weight = scope.add("weight", [width, channels, patchSize, patchSize])
    }

    /// Square images of side `imageSize`.
    public init(_ scope: ParameterScope, width: Int, patchSize: Int, imageSize: Int, channels: Int = 3) {
        self.init(scope, width: width, patchSize: patchSize, imageHeight: imageSize, imageWidth: imageSize, channels: channels)
    }

    /// The unfolded patches of the last `forward`, for `backward`. Allocate once for the largest
    /// batch and reuse.
    public final class Cache {
        public let capacity: Int
        /// Rows left free before each image's patch tokens (e.g. 1 for a class token); the
        /// forward writes zeros there, so one GEMM fills a whole (B, lead + N, C) token buffer.
        public let leadingTokens: Int
        /// Batch of the last `forward`.
        public internal(set) var batch = 0
        /// (capacity·(lead + N), channels·P·P); the `lead` rows of each image stay zero.
        public let patches: Tensor
        /// Backward scratch for the images' gradient, like `patches`, made at first use.
        lazy var dPatches = Tensor(shape: patches.shape)

        public init(_ layer: PatchEmbedding, batch capacity: Int, leadingTokens: Int = 0) {
            precondition(leadingTokens >= 0, "negative leadingTokens")
            self.capacity = capacity
            self.leadingTokens = leadingTokens
            patches = Tensor(shape: [capacity * (leadingTokens + layer.patches), layer.patchDim])
        }
    }

    /// y (B, lead + N, C) = patches (B·(lead + N), channels·P·P) · Wᵀ for images (B, channels, H, W),
    /// lead = `cache.leadingTokens`; the lead rows of each image come out zero.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ images: UnsafePointer<Float>, batch: Int,
                        cache: Cache, _ arena: ParameterArena) {
        precondition(batch <= cache.capacity, "batch \(batch) exceeds the cache's \(cache.capacity)")
        cache.batch = batch
        unfold(cache.patches.data, images, batch: batch, leadingTokens: cache.leadingTokens)
        Matmul.gemm(y, cache.patches.data, arena.value(weight), m: batch * (cache.leadingTokens + patches),
                    n: width, k: patchDim, transB: true)
    }

    /// Backward of the last `forward`: accumulates dW += dyᵀ · patches into the arena's
    /// gradient. When `dImages` (B, channels, H, W) is given, writes the images' gradient there
    /// (or adds it, when `accumulate` is true); pass nil when the images need no gradient.
    /// dy is (B, lead + N, C), like the forward's output; its lead rows do not contribute.
    public func backward(dImages: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, cache: Cache,
                         _ arena: ParameterArena, accumulate: Bool = false) {
        let lead = cache.leadingTokens
        let rows = cache.batch * (lead + patches)
        // The lead rows of `patches` are zero, so they add nothing to dW.
        Matmul.gemm(arena.grad(weight), dy, cache.patches.data, m: width, n: patchDim, k: rows, transA: true, beta: 1)
        guard let dImages else { return }
        Matmul.gemm(cache.dPatches.data, dy, arena.value(weight), m: rows, n: patchDim, k: width)
        fold(dImages, cache.dPatches.data, batch: cache.batch, accumulate: accumulate, leadingTokens: lead)
    }

    /// patches (B·(lead + N), channels·P·P) ← images (B, channels, H, W): patch (gy, gx) of image b
    /// is row b·(lead + N) + lead + gy·gridWidth + gx, its values in (channel, ky, kx) order. The
    /// lead rows are not written.
    public func unfold(_ patches: UnsafeMutablePointer<Float>, _ images: UnsafePointer<Float>, batch: Int,
                       leadingTokens lead: Int = 0) {
        let (P, H, W, gh, gw, dim) = (patchSize, imageHeight, imageWidth, gridHeight, gridWidth, patchDim)
        let perImage = lead + gh * gw
        Parallel.forEach(batch * gh) { range in
            for bg in range {
                let (b, gy) = bg.quotientAndRemainder(dividingBy: gh)
                for gx in 0..<gw {
                    let dst = patches + (b * perImage + lead + gy * gw + gx) * dim
                    for c in 0..<channels {
                        for ky in 0..<P {
                            let src = images + ((b * channels + c) * H + gy * P + ky) * W + gx * P
                            (dst + (c * P + ky) * P).update(from: src, count: P)
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `unfold`: images (B, channels, H, W) ← patches (B·(lead + N), channels·P·P),
    /// pixels outside every patch set to 0; with `accumulate`, added to images instead.
    public func fold(_ images: UnsafeMutablePointer<Float>, _ patches: UnsafePointer<Float>, batch: Int,
                     accumulate: Bool = false, leadingTokens lead: Int = 0) {
        let (P, H, W, gh, gw, dim) = (patchSize, imageHeight, imageWidth, gridHeight, gridWidth, patchDim)
        let perImage = lead + gh * gw
        Parallel.forEach(batch * channels) { range in
            for bc in range {
                let (b, c) = bc.quotientAndRemainder(dividingBy: channels)
                let plane = images + bc * H * W
                if !accumulate && (gh * P < H || gw * P < W) { plane.update(repeating: 0, count: H * W) }
                for gy in 0..<gh {
                    for gx in 0..<gw {
                        let src = patches + (b * perImage + lead + gy * gw + gx) * dim + c * P * P
                        for ky in 0..<P {
                            let row = plane + (gy * P + ky) * W + gx * P, s = src + ky * P
                            if accumulate {
                                for kx in 0..<P { row[kx] += s[kx] }
                            } else {
                                row.update(from: s, count: P)
                            }
                        }
                    }
                }
            }
        }
    }
}
