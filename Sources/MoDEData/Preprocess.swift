import Foundation
import MoDETensor

/// Per-channel mean and standard deviation for normalisation, (x / 255 - mean) / std.
public struct ImageNormalization: Sendable, Equatable {
    public var mean: [Double]
    public var std: [Double]

    public init(mean: [Double], std: [Double]) {
        precondition(mean.count == 3 && std.count == 3, "ImageNormalization: three channels")
        self.mean = mean
        self.std = std
    }

    /// open_clip's OPENAI_DATASET_MEAN / OPENAI_DATASET_STD.
    public static let openAI = ImageNormalization(
        mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711])

    /// (3, 256) the normalised value of each byte per channel, computed in Float32 exactly as
    /// torchvision's ToTensor (x.float() / 255) followed by Normalize ((x - mean) / std) does.
    public func table() -> [Float] {
        var t = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            let m = Float(mean[c]), s = Float(std[c])
            for v in 0..<256 { t[c * 256 + v] = (Float(v) / 255 - m) / s }
        }
        return t
    }
}

/// Python's `round()` of a float: to nearest, ties to even.
@inline(__always) func pythonRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }

/// The geometry of open_clip's eval transform (`Resize(S)` with the short side to S, then
/// `CenterCrop(S)`) for an image of `width` × `height`: the resized size, computed as torchvision
/// does (long side int(S · long / short)), and the crop window in the resized image.
public func clipEvalGeometry(width: Int, height: Int, size: Int) -> (resizedWidth: Int, resizedHeight: Int, crop: CropBox) {
    precondition(width > 0 && height > 0 && size > 0, "clipEvalGeometry: sizes must be positive")
    let short = min(width, height), long = max(width, height)
    let newLong = Int(Double(size * long) / Double(short))
    let (rw, rh) = width <= height ? (size, newLong) : (newLong, size)
    // torchvision's CenterCrop: int(round((h - S) / 2.0)), Python's round (ties to even).
    let top = pythonRound(Double(rh - size) / 2), left = pythonRound(Double(rw - size) / 2)
    return (rw, rh, CropBox(left: left, top: top, width: size, height: size))
}

/// torchvision's `RandomResizedCrop.get_params`: up to 10 draws of an area fraction in `scale`
/// and a log-uniform aspect ratio in `ratio`, the first box that fits wins; otherwise the centre
/// crop clamped to the ratio range. The draws come from `rng`, so boxes do not match torch's
/// random stream, only its distribution.
public func randomResizedCropBox(
    width: Int, height: Int, scale: ClosedRange<Double> = 0.9...1.0,
    ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0), rng: inout SeededRNG
) -> CropBox {
    let area = Double(width * height)
    let logLo = log(ratio.lowerBound), logHi = log(ratio.upperBound)
    for _ in 0..<10 {
        let target = area * (scale.lowerBound + (scale.upperBound - scale.lowerBound) * rng.nextDouble())
        let aspect = exp(logLo + (logHi - logLo) * rng.nextDouble())
        let w = pythonRound((target * aspect).squareRoot())
        let h = pythonRound((target / aspect).squareRoot())
        if w > 0, w <= width, h > 0, h <= height {
            let top = rng.nextInt(height - h + 1)
            let left = rng.nextInt(width - w + 1)
            return CropBox(left: left, top: top, width: w, height: h)
        }
    }
    let inRatio = Double(width) / Double(height)
    var w = width, h = height
    if inRatio < ratio.lowerBound {
        h = pythonRound(Double(w) / ratio.lowerBound)
    } else if inRatio > ratio.upperBound {
        w = pythonRound(Double(h) * ratio.upperBound)
    }
    return CropBox(left: (width - w) / 2, top: (height - h) / 2, width: w, height: h)
}

/// open_clip's `image_transform` for RGB images with resize_mode "shortest", written into a
/// caller's float buffer (a slot of a batch tensor). Eval: resize the short side to S (PIL
/// bicubic with antialiasing, exact), centre crop S×S. Train: RandomResizedCrop(S, scale,
/// ratio, bicubic), its crop box drawn from a `SeededRNG`. Both then /255 and normalise, CHW.
/// Holds scratch buffers and caches: not thread-safe, use one per thread.
public final class CLIPPreprocessor {
    /// Output side S.
    public let size: Int
    public let normalization: ImageNormalization
    /// RandomResizedCrop's area fraction range (open_clip's default (0.9, 1.0)).
    public var trainScale: ClosedRange<Double> = 0.9...1.0
    /// RandomResizedCrop's aspect ratio range (torchvision's default (3/4, 4/3)).
    public var trainRatio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)
    private let resampler: ImageResampler
    private let table: [Float]

    public init(size: Int, normalization: ImageNormalization = .openAI, filter: ResampleFilter = .bicubic) {
        precondition(size > 0, "CLIPPreprocessor: size must be positive")
        self.size = size
        self.normalization = normalization
        self.resampler = ImageResampler(filter: filter)
        self.table = normalization.table()
    }

    /// Eval transform: out (3, S, S) ← image.
    public func eval(_ out: UnsafeMutablePointer<Float>, _ image: RGBImage) {
        let g = clipEvalGeometry(width: image.width, height: image.height, size: size)
        run(out, image, crop: CropBox(left: 0, top: 0, width: image.width, height: image.height),
            outWidth: g.resizedWidth, outHeight: g.resizedHeight, window: g.crop)
    }

    /// Train transform: out (3, S, S) ← image, with a random crop box drawn from `rng`; returns the box.
    @discardableResult
    public func train(_ out: UnsafeMutablePointer<Float>, _ image: RGBImage, rng: inout SeededRNG) -> CropBox {
        let box = randomResizedCropBox(width: image.width, height: image.height, scale: trainScale, ratio: trainRatio, rng: &rng)
        resizedCrop(out, image, box: box)
        return box
    }

    /// torchvision's `resized_crop` for a given box (crop, then resize to S×S), normalised: out (3, S, S).
    public func resizedCrop(_ out: UnsafeMutablePointer<Float>, _ image: RGBImage, box: CropBox) {
        run(out, image, crop: box, outWidth: size, outHeight: size, window: CropBox(left: 0, top: 0, width: size, height: size))
    }

    /// Convenience: the eval transform into a new (3, S, S) array.
    public func eval(_ image: RGBImage) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * size * size)
        out.withUnsafeMutableBufferPointer { eval($0.baseAddress!, image) }
        return out
    }

    /// Convenience: `resizedCrop` into a new (3, S, S) array.
    public func resizedCrop(_ image: RGBImage, box: CropBox) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * size * size)
        out.withUnsafeMutableBufferPointer { resizedCrop($0.baseAddress!, image, box: box) }
        return out
    }

    private func run(_ out: UnsafeMutablePointer<Float>, _ image: RGBImage, crop: CropBox, outWidth: Int, outHeight: Int, window: CropBox) {
        let plane = size * size, s = size
        table.withUnsafeBufferPointer { tb in
            let t0 = tb.baseAddress!, t1 = t0 + 256, t2 = t0 + 512
            image.bytes.withUnsafeBufferPointer { src in
                resampler.resize(src.baseAddress!, srcWidth: image.width, srcHeight: image.height, crop: crop,
                                 outWidth: outWidth, outHeight: outHeight, window: window) { r, p in
                    let r0 = out + r * s, r1 = r0 + plane, r2 = r1 + plane
                    for x in 0..<s {
                        r0[x] = t0[Int(p[3 * x])]
                        r1[x] = t1[Int(p[3 * x + 1])]
                        r2[x] = t2[Int(p[3 * x + 2])]
                    }
                }
            }
        }
    }
}
