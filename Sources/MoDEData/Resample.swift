/// Image resampling with exactly PIL's arithmetic (`Image.resize` on 8-bit images, Resample.c):
/// separable, horizontal pass then vertical pass, the filter's support widened by the downscale
/// factor (antialiasing), coefficients normalised per output pixel and rounded to 22-bit fixed
/// point, each pass rounded and clipped to 8 bits. The two passes' inner loops are C kernels
/// (CMoDEKernels, chosen at run time for the CPU).

import CMoDEKernels

/// Resampling filters of PIL that open_clip uses.
public enum ResampleFilter: Sendable, Hashable {
    /// Keys cubic convolution with a = -0.5 (PIL's BICUBIC), support 2.
    case bicubic
    /// Triangle filter (PIL's BILINEAR), support 1.
    case bilinear

    /// Half-width of the filter at scale 1.
    public var support: Double { self == .bicubic ? 2 : 1 }

    /// The filter's weight at distance `x` (same operation order as PIL, so the doubles agree bit for bit).
    @inline(__always) public func weight(_ x: Double) -> Double {
        let x = x < 0 ? -x : x
        switch self {
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .bilinear:
            return x < 1 ? 1 - x : 0
        }
    }
}

/// Fractional bits of PIL's fixed-point resampling weights for 8-bit images (32 - 8 - 2).
let resamplePrecisionBits: Int32 = 22

/// A rectangle of pixels: columns [left, left + width), rows [top, top + height).
public struct CropBox: Sendable, Hashable, CustomStringConvertible {
    public var left: Int
    public var top: Int
    public var width: Int
    public var height: Int

    public init(left: Int, top: Int, width: Int, height: Int) {
        self.left = left
        self.top = top
        self.width = width
        self.height = height
    }

    public var description: String { "(left \(left), top \(top), \(width)×\(height))" }
}

/// PIL's coefficients for resampling one axis of length `inSize` to `outSize`: output i reads
/// inputs [start[i], start[i] + count[i]) with weights (outSize, taps), 22-bit fixed point.
public struct ResampleCoefficients: Sendable {
    public let inSize: Int
    public let outSize: Int
    /// Row length of `weights` (PIL's ksize); entries past `count[i]` are zero.
    public let taps: Int
    /// (outSize) first input index of each output.
    public let start: [Int32]
    /// (outSize) number of inputs of each output.
    public let count: [Int32]
    /// (outSize, taps) fixed-point weights.
    public let weights: [Int32]
    /// (outSize, taps) the normalised weights before rounding.
    public let exactWeights: [Double]

    public init(inSize: Int, outSize: Int, filter: ResampleFilter) {
        precondition(inSize > 0 && outSize > 0, "ResampleCoefficients: sizes must be positive")
        self.inSize = inSize
        self.outSize = outSize
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        self.taps = taps
        var start = [Int32](repeating: 0, count: outSize)
        var count = [Int32](repeating: 0, count: outSize)
        var exact = [Double](repeating: 0, count: outSize * taps)
        var fixed = [Int32](repeating: 0, count: outSize * taps)
        let ss = 1.0 / filterScale
        let one = Double(1 << resamplePrecisionBits)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)  // Int(_:) truncates toward zero, as C's (int)
            let n = min(Int(center + support + 0.5), inSize) - xmin
            var total = 0.0
            for x in 0..<n {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * ss)
                exact[xx * taps + x] = w
                total += w
            }
            for x in 0..<n {
                if total != 0 { exact[xx * taps + x] /= total }
                let k = exact[xx * taps + x]
                fixed[xx * taps + x] = Int32(k < 0 ? -0.5 + k * one : 0.5 + k * one)
            }
            start[xx] = Int32(xmin)
            count[xx] = Int32(n)
        }
        self.start = start
        self.count = count
        self.weights = fixed
        self.exactWeights = exact
    }
}

@inline(__always) private func clip8(_ acc: Int32) -> UInt8 {
    let v = acc >> resamplePrecisionBits
    return UInt8(truncatingIfNeeded: v < 0 ? 0 : v > 255 ? 255 : v)
}

// MARK: - Reference

/// PIL's `Image.resize((width, height), filter)` of an RGB image, written as plainly as PIL's C
/// loops (each pass over the whole image): the reference the optimised `ImageResampler` is tested against.
public func resizeReference(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter = .bicubic) -> RGBImage {
    // One pass along x (horizontal) or y (vertical): (h, w, 3) → (h, outW, 3) or (outH, w, 3).
    func pass(_ src: [UInt8], _ w: Int, _ h: Int, horizontal: Bool, _ outSize: Int) -> [UInt8] {
        let c = ResampleCoefficients(inSize: horizontal ? w : h, outSize: outSize, filter: filter)
        let ow = horizontal ? outSize : w, oh = horizontal ? h : outSize
        var out = [UInt8](repeating: 0, count: ow * oh * 3)
        for y in 0..<oh {
            for x in 0..<ow {
                let i = horizontal ? x : y
                for ch in 0..<3 {
                    var acc: Int32 = 1 << (resamplePrecisionBits - 1)
                    for t in 0..<Int(c.count[i]) {
                        let j = Int(c.start[i]) + t
                        let p = horizontal ? src[(y * w + j) * 3 + ch] : src[(j * w + x) * 3 + ch]
                        acc &+= Int32(p) &* c.weights[i * c.taps + t]
                    }
                    out[(y * ow + x) * 3 + ch] = clip8(acc)
                }
            }
        }
        return out
    }
    let w = image.width, h = image.height
    let needH = width != w, needV = height != h
    var px = image.bytes
    if ImageResampler.verticalFirst(inWidth: w, inHeight: h, outWidth: width, outHeight: height) {
        if needV { px = pass(px, w, h, horizontal: false, height) }
        if needH { px = pass(px, w, height, horizontal: true, width) }
    } else {
        if needH { px = pass(px, w, h, horizontal: true, width) }
        if needV { px = pass(px, width, h, horizontal: false, height) }
    }
    return RGBImage(width: width, height: height, bytes: px)
}

// MARK: - Optimised

/// PIL-exact resampling of RGB images with cached coefficients and reusable scratch buffers.
/// Computes only the requested window of the output (each output pixel depends on the input
/// alone, so a window is bit-identical to cropping the full result). Not thread-safe: use one per thread.
public final class ImageResampler {
    public let filter: ResampleFilter
    private struct Key: Hashable { var inSize: Int, outSize: Int }
    private var cache: [Key: ResampleCoefficients] = [:]
    /// Scratch: the horizontal pass's rows, then one output row.
    private var temp = UnsafeMutablePointer<UInt8>.allocate(capacity: 0)
    private var tempCapacity = 0
    private var row = UnsafeMutablePointer<UInt8>.allocate(capacity: 0)
    private var rowCapacity = 0
    /// Coefficient sets kept before the cache is emptied (random crops make many sizes).
    public var cacheLimit = 64

    public init(filter: ResampleFilter = .bicubic) { self.filter = filter }

    deinit {
        temp.deallocate()
        row.deallocate()
    }

    private static func reserve(_ p: inout UnsafeMutablePointer<UInt8>, _ capacity: inout Int, _ n: Int) {
        guard n > capacity else { return }
        p.deallocate()
        p = .allocate(capacity: n)
        capacity = n
    }

    /// The coefficients for `inSize` → `outSize`, computed once and cached.
    public func coefficients(inSize: Int, outSize: Int) -> ResampleCoefficients {
        let key = Key(inSize: inSize, outSize: outSize)
        if let c = cache[key] { return c }
        if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
        let c = ResampleCoefficients(inSize: inSize, outSize: outSize, filter: filter)
        cache[key] = c
        return c
    }

    /// PIL's `image.crop(crop).resize((outWidth, outHeight))`, restricted to the output `window`,
    /// handed to `sink` one row at a time: sink(row index within the window, (window.width, 3) bytes).
    /// `src` is (srcHeight, srcWidth, 3); `crop` must lie inside it and `window` inside the output.
    public func resize(
        _ src: UnsafePointer<UInt8>, srcWidth: Int, srcHeight: Int, crop: CropBox,
        outWidth: Int, outHeight: Int, window: CropBox,
        sink: (Int, UnsafePointer<UInt8>) -> Void
    ) {
        precondition(crop.left >= 0 && crop.top >= 0 && crop.width > 0 && crop.height > 0
            && crop.left + crop.width <= srcWidth && crop.top + crop.height <= srcHeight, "resize: crop outside the image")
        precondition(window.left >= 0 && window.top >= 0 && window.width > 0 && window.height > 0
            && window.left + window.width <= outWidth && window.top + window.height <= outHeight, "resize: window outside the output")
        let needH = outWidth != crop.width, needV = outHeight != crop.height
        let srcStride = srcWidth * 3
        let cropOrigin = src + crop.top * srcStride + crop.left * 3
        let rowBytes = window.width * 3
        ImageResampler.reserve(&row, &rowCapacity, rowBytes + 4)  // horizontalPass stores 1 byte past the end
        let out = row
        let wLast = window.left + window.width - 1, hLast = window.top + window.height - 1

        if !needH && !needV {
            for r in 0..<window.height { sink(r, cropOrigin + (window.top + r) * srcStride + window.left * 3) }
            return
        }
        if !needH {
            let cv = coefficients(inSize: crop.height, outSize: outHeight)
            withPointers(cv) { s, n, w in
                for r in 0..<window.height {
                    let yy = window.top + r
                    ImageResampler.verticalRow(
                        out, cropOrigin + Int(s[yy]) * srcStride + window.left * 3, srcStride: srcStride,
                        weights: w + yy * cv.taps, taps: Int(n[yy]), length: rowBytes)
                    sink(r, UnsafePointer(out))
                }
            }
            return
        }
        let ch = coefficients(inSize: crop.width, outSize: outWidth)
        if !needV {
            // The image's last row is read with exact-length loads (see horizontalPass).
            let touchesEnd = crop.top + window.top + window.height == srcHeight
            withPointers(ch) { s, n, w in
                for r in 0..<window.height {
                    ImageResampler.horizontalPass(
                        out, cropOrigin + (window.top + r) * srcStride, srcStride: srcStride, rows: 1,
                        start: s + window.left, count: n + window.left, weights: w + window.left * ch.taps,
                        taps: ch.taps, outCount: window.width, startBias: 0,
                        lastRowExact: touchesEnd && r == window.height - 1)
                    sink(r, UnsafePointer(out))
                }
            }
            return
        }
        let cv = coefficients(inSize: crop.height, outSize: outHeight)
        if ImageResampler.verticalFirst(inWidth: crop.width, inHeight: crop.height, outWidth: outWidth, outHeight: outHeight) {
            // Vertical pass over the input columns the window needs, then horizontal per row.
            let xFirst = Int(ch.start[window.left]), xLast = Int(ch.start[wLast] + ch.count[wLast])
            let tStride = (xLast - xFirst) * 3
            // Padded for horizontalPass's reads past the last used pixel.
            ImageResampler.reserve(&temp, &tempCapacity, window.height * tStride + ch.taps * 3 + 4)
            let tmp = temp
            withPointers(cv) { s, n, w in
                for r in 0..<window.height {
                    let yy = window.top + r
                    ImageResampler.verticalRow(
                        tmp + r * tStride, cropOrigin + Int(s[yy]) * srcStride + xFirst * 3, srcStride: srcStride,
                        weights: w + yy * cv.taps, taps: Int(n[yy]), length: tStride)
                }
            }
            withPointers(ch) { s, n, w in
                for r in 0..<window.height {
                    ImageResampler.horizontalPass(
                        out, tmp + r * tStride, srcStride: tStride, rows: 1,
                        start: s + window.left, count: n + window.left, weights: w + window.left * ch.taps,
                        taps: ch.taps, outCount: window.width, startBias: xFirst, lastRowExact: false)
                    sink(r, UnsafePointer(out))
                }
            }
            return
        }
        // Horizontal pass over the input rows the window needs, then vertical per row (PIL's usual order).
        let yFirst = Int(cv.start[window.top]), yLast = Int(cv.start[hLast] + cv.count[hLast])
        let rows = yLast - yFirst
        ImageResampler.reserve(&temp, &tempCapacity, rows * rowBytes + 4)  // horizontalPass stores 1 byte past the end
        // The image's last row is read with exact-length loads (see horizontalPass).
        let touchesEnd = crop.top + yLast == srcHeight
        let tmp = temp
        withPointers(ch) { s, n, w in
            ImageResampler.horizontalPass(
                tmp, cropOrigin + yFirst * srcStride, srcStride: srcStride, rows: rows,
                start: s + window.left, count: n + window.left, weights: w + window.left * ch.taps,
                taps: ch.taps, outCount: window.width, startBias: 0, lastRowExact: touchesEnd)
        }
        withPointers(cv) { s, n, w in
            for r in 0..<window.height {
                let yy = window.top + r
                ImageResampler.verticalRow(
                    out, tmp + (Int(s[yy]) - yFirst) * rowBytes, srcStride: rowBytes,
                    weights: w + yy * cv.taps, taps: Int(n[yy]), length: rowBytes)
                sink(r, UnsafePointer(out))
            }
        }
    }

    /// Pillow (13) resamples vertically first when the height shrinks by more than twice as many
    /// pixels as the width does; otherwise horizontally first. The order changes the 8-bit
    /// rounding between the passes, so it must match for identical results.
    public static func verticalFirst(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int) -> Bool {
        outHeight < inHeight && inHeight - outHeight > 2 * (inWidth - outWidth)
    }

    private func withPointers(_ c: ResampleCoefficients, _ body: (UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafePointer<Int32>) -> Void) {
        c.start.withUnsafeBufferPointer { s in
            c.count.withUnsafeBufferPointer { n in
                c.weights.withUnsafeBufferPointer { w in body(s.baseAddress!, n.baseAddress!, w.baseAddress!) }
            }
        }
    }

    /// PIL's `image.resize((width, height))` as a new image.
    public func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        out.withUnsafeMutableBufferPointer { o in
            image.bytes.withUnsafeBufferPointer { src in
                resize(src.baseAddress!, srcWidth: image.width, srcHeight: image.height,
                       crop: CropBox(left: 0, top: 0, width: image.width, height: image.height),
                       outWidth: width, outHeight: height, window: CropBox(left: 0, top: 0, width: width, height: height)) { r, p in
                    (o.baseAddress! + r * width * 3).update(from: p, count: width * 3)
                }
            }
        }
        return RGBImage(width: width, height: height, bytes: out)
    }

    /// Horizontal pass over `rows` rows: dst (rows, outCount, 3) ← src (rows, srcStride bytes),
    /// output column i reading input pixels [start[i] - startBias, + count[i]) of src with weights (outCount, taps).
    /// Pixels are loaded and stored 4 bytes at a time (RGB plus the next byte, in one vector), so
    /// `src` is read 1 byte past a row's last used pixel and `dst` written 1 byte past its end
    /// (callers pad it); when `lastRowExact` the final row is done with exact-length scalar loads,
    /// so nothing past the end of the source is read.
    static func horizontalPass(
        _ dst: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>, srcStride: Int, rows: Int,
        start: UnsafePointer<Int32>, count: UnsafePointer<Int32>, weights: UnsafePointer<Int32>, taps: Int, outCount: Int,
        startBias: Int, lastRowExact: Bool
    ) {
        mode_resample_horizontal(dst, src, srcStride, rows, start, count, weights, taps, outCount, startBias,
                                 lastRowExact ? 1 : 0)
    }

    /// Vertical pass for one output row: dst (length) ← Σ_t src[t · srcStride + i] · weights[t], t < taps.
    static func verticalRow(
        _ dst: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>, srcStride: Int,
        weights: UnsafePointer<Int32>, taps: Int, length: Int
    ) {
        mode_resample_vertical(dst, src, srcStride, weights, taps, length)
    }
}
