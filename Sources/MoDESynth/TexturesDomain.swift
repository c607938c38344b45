import Foundation
import MoDEData
import MoDETensor

/// Full-frame periodic patterns: ten classes that differ in orientation, shape and layout, with
/// two colours and a frequency attribute; fabric/wallpaper vocabulary.
enum TexturesDomain: SynthRenderer {
    static let classes = [
        SynthClass("horizontal stripes", ["horizontal lines", "horizontally striped"]),
        SynthClass("vertical stripes", ["vertical lines", "pinstripes"]),
        SynthClass("diagonal stripes", ["diagonal lines", "slanted stripes"]),
        SynthClass("checkerboard", ["checkered", "checks"]),
        SynthClass("polka dots", ["polka dot", "dotted"]),
        SynthClass("wavy lines", ["waves", "wavy stripes"]),
        SynthClass("grid", ["lattice", "graph paper"]),
        SynthClass("concentric circles", ["concentric rings", "ripples"]),
        SynthClass("zigzag", ["chevron", "zig-zag"]),
        SynthClass("bricks", ["brick wall", "brickwork"]),
    ]

    static let taskTemplates = [
        "a {c} pattern.", "a fabric with {c}.", "{c} texture.", "a seamless {c} print.", "{c} wallpaper.",
        "a close-up of a {c} textile.",
    ]
    static let altTemplates = [
        "{color} and {color2} {c}", "{color} {c} {dword}", "{c} {dword} on {color2}", "{width} {color} {c}",
        "{c} {fabric}", "{c} {dword}",
    ]
    static let descriptiveTemplates = [
        "A seamless {dword} of {width} {color} and {color2} {c}.", "{Color} {c} on a {color2} background, a repeating {dword}.",
        "Close-up of {fabric} with a {color} {c} print.", "A {dword} made of {width} {color} {c} over {color2}.",
        "Texture swatch: {c} in {color} and {color2}.",
    ]
    static let marketingTemplates = [
        "{Color} {c} {fabric} by the yard - free shipping | {site}", "Seamless {c} {dword}, {color} & {color2}, royalty free",
        "{C} wallpaper for walls, peel and stick, {color}", "Shop {c} {fabric} online - {n} designs in stock",
        "{C} gift wrap, {color} and {color2} | {site}",
    ]
    static let tagWords = ["pattern", "texture", "seamless", "fabric", "textile", "background", "print", "wallpaper"]
    static let tagSlots = ["color", "color2", "width"]
    static let hosts = ["fabric.example.net", "patterns.example.com", "textiles.example.org"]

    /// Distance (in units of the period) from `u` to the nearest edge of 50%-duty bands, negative inside a band.
    @inline(__always) static func band(_ u: Float, duty: Float = 0.5) -> Float {
        let t = u - u.rounded(.down)
        return abs(t - 0.5) - duty / 2
    }

    static func draw(_ cls: Int, _ canvas: inout SynthCanvas, _ rng: inout SeededRNG) -> SynthAttributes {
        var attrs: SynthAttributes = [:]
        var back = rng.pick(Palette.all)
        var fore = Palette.contrasting(Palette.all, avoid: [back.rgb], minDistance: 0.5, &rng)
        if cls == 9 {  // bricks: brick-coloured blocks, light mortar
            back = rng.pick([Palette.red, Palette.brown, Palette.orange, Palette.gray])
            fore = rng.chance(0.75) ? NamedColor(name: "white", rgb: RGB(bytes: 225, 220, 210)) : Palette.black
        }
        canvas.fill(back.rgb.jittered(0.04, &rng))
        let wide = rng.chance(0.5)
        let period = wide ? rng.uniform(0.17, 0.26) : rng.uniform(0.09, 0.14)
        attrs["width"] = cls == 4 || cls == 7 ? (wide ? "large" : "small") : (wide ? "wide" : "thin")
        let phase = Vec2(rng.uniform(0, 1), rng.uniform(0, 1))
        let tilt = rng.uniform(-0.12, 0.12)
        let color = fore.rgb.jittered(0.04, &rng)
        let sdf: (Vec2) -> Float
        switch cls {
        case 0, 1, 2:
            let angle = cls == 0 ? tilt : cls == 1 ? .pi / 2 + tilt : (rng.chance(0.5) ? 1 : -1) * .pi / 4 + tilt
            let normal = Vec2(-sinf(angle), cosf(angle))
            let duty = rng.uniform(0.35, 0.55)
            sdf = { band(dot($0, normal) / period + phase.x, duty: duty) * period }
        case 3:
            let cell = period * 0.8
            let a = tilt * 0.5
            sdf = { p in
                let q = rotate(p, a) / cell + phase
                let fx = q.x - q.x.rounded(.down), fy = q.y - q.y.rounded(.down)
                let edge = min(min(fx, 1 - fx), min(fy, 1 - fy)) * cell
                let odd = (Int(q.x.rounded(.down)) + Int(q.y.rounded(.down))) & 1 == 1
                return odd ? -edge : edge
            }
        case 4:
            let radius = period * rng.uniform(0.22, 0.32)
            let stagger: Float = rng.chance(0.5) ? 0.5 : 0
            sdf = { p in
                let q = p / period + phase
                let row = q.y.rounded(.down)
                let sx = q.x + (Int(row) & 1 == 1 ? stagger : 0)
                let d = Vec2(sx - sx.rounded(.down) - 0.5, q.y - row - 0.5)
                return length(d) * period - radius
            }
        case 5:
            let amp = rng.uniform(0.25, 0.45), wave = period * rng.uniform(1.6, 2.6)
            let duty = rng.uniform(0.35, 0.55)
            sdf = { p in
                let u = (p.y + amp * period * sinf(2 * .pi * p.x / wave + phase.y * 6)) / period + phase.x
                return band(u, duty: duty) * period * 0.8
            }
        case 6:
            let line = period * rng.uniform(0.14, 0.22)
            sdf = { p in
                let q = rotate(p, tilt * 0.5) / period + phase
                let dx = abs(q.x - q.x.rounded()), dy = abs(q.y - q.y.rounded())
                return min(dx, dy) * period - line / 2
            }
        case 7:
            let c = Vec2(rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8))
            let ring = period * 0.8
            sdf = { band(length($0 - c) / ring + phase.x) * ring }
        case 8:
            let amp = rng.uniform(0.3, 0.5), wave = period * rng.uniform(1.0, 1.6)
            let duty = rng.uniform(0.35, 0.55)
            sdf = { p in
                let t = p.x / wave + phase.y
                let tri = abs(2 * (t - t.rounded(.down)) - 1) * 2 - 1
                let u = (p.y + amp * period * tri) / period + phase.x
                return band(u, duty: duty) * period * 0.7
            }
        default:
            let h = period * 0.55, w = h * 2.1, mortar = h * rng.uniform(0.12, 0.2)
            sdf = { p in
                let y = p.y / h + phase.y
                let row = y.rounded(.down)
                let x = p.x / w + phase.x + (Int(row) & 1 == 1 ? 0.5 : 0)
                let dy = min(y - row, row + 1 - y) * h
                let dx = min(x - x.rounded(.down), x.rounded(.down) + 1 - x) * w
                return min(dx, dy) - mortar / 2
            }
        }
        canvas.paint(color, sdf)
        attrs["color"] = cls == 9 ? back.name : fore.name
        attrs["color2"] = cls == 9 ? fore.name : back.name
        return attrs
    }

    static func slots(_ cls: Int, term: String, _ attrs: SynthAttributes, _ rng: inout SeededRNG) -> [String: String] {
        ["dword": rng.pick(["pattern", "texture", "print", "design", "background"]),
         "fabric": rng.pick(["fabric", "cotton fabric", "textile", "wallpaper", "wrapping paper", "tablecloth", "tiles"])]
    }
}
