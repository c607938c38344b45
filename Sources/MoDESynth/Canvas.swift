import MoDEData
import MoDETensor

/// A point or vector in unit image coordinates: x to the right, y downwards, both 0...1 across the image.
typealias Vec2 = SIMD2<Float>

/// An RGB colour, components in 0...1.
struct RGB: Equatable {
    var r: Float, g: Float, b: Float

    init(_ r: Float, _ g: Float, _ b: Float) { self.r = r; self.g = g; self.b = b }

    /// From 0...255 components.
    init(bytes r: Int, _ g: Int, _ b: Int) { self.init(Float(r) / 255, Float(g) / 255, Float(b) / 255) }

    /// `self` mixed towards `other` by `t` (0 = self, 1 = other).
    func mixed(_ other: RGB, _ t: Float) -> RGB {
        RGB(r + (other.r - r) * t, g + (other.g - g) * t, b + (other.b - b) * t)
    }

    /// Euclidean distance in RGB (0...√3).
    func distance(_ o: RGB) -> Float {
        let d = SIMD3(r - o.r, g - o.g, b - o.b)
        return (d * d).sum().squareRoot()
    }

    /// Each component moved by up to ±`amount`, clamped to 0...1.
    func jittered(_ amount: Float, _ rng: inout SeededRNG) -> RGB {
        func j(_ x: Float, _ rng: inout SeededRNG) -> Float { min(1, max(0, x + (rng.nextFloat() * 2 - 1) * amount)) }
        return RGB(j(r, &rng), j(g, &rng), j(b, &rng))
    }
}

/// A named colour of the corpus: the word captions use and its base RGB value.
struct NamedColor {
    var name: String
    var rgb: RGB
}

/// The colour vocabulary shared by all domains.
enum Palette {
    static let red = NamedColor(name: "red", rgb: RGB(bytes: 215, 40, 40))
    static let orange = NamedColor(name: "orange", rgb: RGB(bytes: 245, 140, 30))
    static let yellow = NamedColor(name: "yellow", rgb: RGB(bytes: 245, 215, 45))
    static let green = NamedColor(name: "green", rgb: RGB(bytes: 45, 165, 70))
    static let blue = NamedColor(name: "blue", rgb: RGB(bytes: 40, 90, 215))
    static let purple = NamedColor(name: "purple", rgb: RGB(bytes: 130, 60, 185))
    static let pink = NamedColor(name: "pink", rgb: RGB(bytes: 240, 125, 180))
    static let brown = NamedColor(name: "brown", rgb: RGB(bytes: 125, 80, 40))
    static let cyan = NamedColor(name: "cyan", rgb: RGB(bytes: 35, 190, 205))
    static let black = NamedColor(name: "black", rgb: RGB(bytes: 22, 22, 24))
    static let white = NamedColor(name: "white", rgb: RGB(bytes: 246, 246, 244))
    static let gray = NamedColor(name: "gray", rgb: RGB(bytes: 130, 130, 132))

    /// Saturated colours (for fills, inks and pattern foregrounds).
    static let vivid = [red, orange, yellow, green, blue, purple, pink, brown, cyan]
    /// Every named colour.
    static let all = vivid + [black, white, gray]

    /// A colour from `choices` at least `minDistance` away from every colour in `avoid` (falls
    /// back to the farthest when none is).
    static func contrasting(_ choices: [NamedColor], avoid: [RGB], minDistance: Float = 0.45, _ rng: inout SeededRNG) -> NamedColor {
        let ok = choices.filter { c in avoid.allSatisfy { c.rgb.distance($0) >= minDistance } }
        if !ok.isEmpty { return ok[rng.nextInt(ok.count)] }
        return choices.max { a, b in
            avoid.map { a.rgb.distance($0) }.min()! < avoid.map { b.rgb.distance($0) }.min()!
        }!
    }
}

/// An axis-aligned box in unit coordinates, the region a shape may touch.
struct Box {
    var x0: Float, y0: Float, x1: Float, y1: Float
    static let full = Box(x0: 0, y0: 0, x1: 1, y1: 1)

    /// The box around `c` with half-size `r` on both axes.
    static func around(_ c: Vec2, _ r: Float) -> Box { Box(x0: c.x - r, y0: c.y - r, x1: c.x + r, y1: c.y + r) }
    /// The box around `points`, grown by `margin`.
    static func around(_ points: [Vec2], margin: Float) -> Box {
        var b = Box(x0: .infinity, y0: .infinity, x1: -.infinity, y1: -.infinity)
        for p in points { b.x0 = min(b.x0, p.x); b.y0 = min(b.y0, p.y); b.x1 = max(b.x1, p.x); b.y1 = max(b.y1, p.y) }
        return Box(x0: b.x0 - margin, y0: b.y0 - margin, x1: b.x1 + margin, y1: b.y1 + margin)
    }
}

/// A square drawing surface for the synthetic corpus: floats in 0...1, (size, size, 3). Shapes
/// are signed distance functions in unit coordinates (negative inside); their edges are
/// anti-aliased by converting the distance at each pixel centre to pixels.
struct SynthCanvas {
    let size: Int
    /// (size, size, 3)
    var pixels: [Float]

    init(size: Int, background: RGB) {
        self.size = size
        pixels = [Float](repeating: 0, count: size * size * 3)
        fill(background)
    }

    /// Paints every pixel `c`.
    mutating func fill(_ c: RGB) {
        for i in 0..<(size * size) { pixels[3 * i] = c.r; pixels[3 * i + 1] = c.g; pixels[3 * i + 2] = c.b }
    }

    /// Paints every row: `top` above y = `y0`, `bottom` below y = `y1`, a linear blend between.
    mutating func verticalGradient(_ top: RGB, _ bottom: RGB, y0: Float = 0, y1: Float = 1) {
        let s = Float(size)
        for row in 0..<size {
            let y = (Float(row) + 0.5) / s
            let c = top.mixed(bottom, min(1, max(0, (y - y0) / max(1e-6, y1 - y0))))
            for col in 0..<size {
                let i = 3 * (row * size + col)
                pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b
            }
        }
    }

    /// Blends `color` (opacity `alpha`) over the pixels where `sdf` is negative, within `bounds`;
    /// edge pixels get the fraction of coverage their centre's distance implies.
    mutating func paint(_ color: RGB, alpha: Float = 1, bounds: Box = .full, _ sdf: (Vec2) -> Float) {
        paintShaded(alpha: alpha, bounds: bounds) { p in (sdf(p), color) }
    }

    /// Like `paint`, with a colour that varies over the shape (`shade` returns distance and colour).
    mutating func paintShaded(alpha: Float = 1, bounds: Box = .full, _ shade: (Vec2) -> (Float, RGB)) {
        let s = Float(size)
        let c0 = max(0, Int((bounds.x0 * s - 1).rounded(.down))), c1 = min(size - 1, Int((bounds.x1 * s + 1).rounded(.up)))
        let r0 = max(0, Int((bounds.y0 * s - 1).rounded(.down))), r1 = min(size - 1, Int((bounds.y1 * s + 1).rounded(.up)))
        guard c0 <= c1, r0 <= r1 else { return }
        pixels.withUnsafeMutableBufferPointer { px in
            for row in r0...r1 {
                let y = (Float(row) + 0.5) / s
                for col in c0...c1 {
                    let p = Vec2((Float(col) + 0.5) / s, y)
                    let (d, c) = shade(p)
                    let cover = min(1, max(0, 0.5 - d * s)) * alpha
                    if cover <= 0 { continue }
                    let i = 3 * (row * size + col)
                    px[i] += (c.r - px[i]) * cover
                    px[i + 1] += (c.g - px[i + 1]) * cover
                    px[i + 2] += (c.b - px[i + 2]) * cover
                }
            }
        }
    }

    /// 8-bit pixels (size, size, 3) with Gaussian noise of standard deviation `noise` (0...1 units) added.
    func rgbBytes(noise: Float, _ rng: inout SeededRNG) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pixels.count)
        for i in pixels.indices {
            let v = pixels[i] + (noise > 0 ? rng.nextNormal() * noise : 0)
            out[i] = UInt8(min(255, max(0, (v * 255).rounded())))
        }
        return out
    }
}

/// Signed distance functions in unit coordinates (negative inside).
enum SDF {
    static func circle(_ p: Vec2, _ c: Vec2, _ r: Float) -> Float { length(p - c) - r }

    /// A ring (annulus) of radius `r` and line width `w`.
    static func ring(_ p: Vec2, _ c: Vec2, _ r: Float, _ w: Float) -> Float { abs(length(p - c) - r) - w / 2 }

    /// A box centred at `c` with half-sizes `h`, rotated by `angle` radians.
    static func box(_ p: Vec2, _ c: Vec2, _ h: Vec2, angle: Float = 0) -> Float {
        let q = rotate(p - c, -angle)
        let d = Vec2(abs(q.x), abs(q.y)) - h
        let outside = length(Vec2(max(d.x, 0), max(d.y, 0)))
        return outside + min(max(d.x, d.y), 0)
    }

    /// A segment from `a` to `b` with round caps, line width `w`.
    static func segment(_ p: Vec2, _ a: Vec2, _ b: Vec2, _ w: Float) -> Float {
        let ab = b - a, ap = p - a
        let t = min(1, max(0, dot(ap, ab) / max(1e-12, dot(ab, ab))))
        return length(ap - ab * t) - w / 2
    }

    /// A polyline through `points` with round joins, line width `w`.
    static func polyline(_ p: Vec2, _ points: [Vec2], _ w: Float) -> Float {
        var d = Float.infinity
        for i in 1..<points.count { d = min(d, segment(p, points[i - 1], points[i], w)) }
        return d
    }

    /// A simple polygon (any winding; even–odd inside test).
    static func polygon(_ p: Vec2, _ v: [Vec2]) -> Float {
        var d2 = Float.infinity
        var inside = false
        var j = v.count - 1
        for i in 0..<v.count {
            let a = v[j], b = v[i]
            let e = b - a, w = p - a
            let t = min(1, max(0, dot(w, e) / max(1e-12, dot(e, e))))
            let q = w - e * t
            d2 = min(d2, dot(q, q))
            if (a.y > p.y) != (b.y > p.y), p.x < a.x + (p.y - a.y) * e.x / e.y { inside.toggle() }
            j = i
        }
        return inside ? -d2.squareRoot() : d2.squareRoot()
    }
}

@inline(__always) func length(_ v: Vec2) -> Float { (v * v).sum().squareRoot() }
@inline(__always) func dot(_ a: Vec2, _ b: Vec2) -> Float { (a * b).sum() }
@inline(__always) func rotate(_ v: Vec2, _ angle: Float) -> Vec2 {
    let c = cosf(angle), s = sinf(angle)
    return Vec2(c * v.x - s * v.y, s * v.x + c * v.y)
}

/// `n` vertices of a regular polygon around `c`, radius `r`, first vertex at `angle` (radians,
/// 0 = right, −π/2 = up).
func regularPolygon(_ c: Vec2, _ r: Float, sides n: Int, angle: Float) -> [Vec2] {
    (0..<n).map { k in
        let a = angle + 2 * .pi * Float(k) / Float(n)
        return c + Vec2(cosf(a), sinf(a)) * r
    }
}

/// Points along an elliptical arc from `a0` to `a1` radians (screen angles: y down), `n` + 1 points.
func arc(_ c: Vec2, rx: Float, ry: Float, from a0: Float, to a1: Float, steps n: Int) -> [Vec2] {
    (0...n).map { k in
        let a = a0 + (a1 - a0) * Float(k) / Float(n)
        return c + Vec2(cosf(a) * rx, sinf(a) * ry)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SeededRNG {
    /// Uniform in a...b.
    mutating func uniform(_ a: Float, _ b: Float) -> Float { a + (b - a) * nextFloat() }
    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { nextDouble() < p }
    /// A uniformly chosen element of a non-empty array.
    mutating func pick<T>(_ xs: [T]) -> T { xs[nextInt(xs.count)] }
    /// An index drawn with probability proportional to `weights`.
    mutating func weighted(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = nextDouble() * total
        for (i, w) in weights.enumerated() {
            if u < w { return i }
            u -= w
        }
        return weights.count - 1
    }
    /// The elements of `xs` in a random order (Fisher–Yates).
    mutating func shuffled<T>(_ xs: [T]) -> [T] {
        var a = xs
        if a.count > 1 {
            for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, nextInt(i + 1)) }
        }
        return a
    }
}
