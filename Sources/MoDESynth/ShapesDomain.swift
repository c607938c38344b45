import Foundation
import MoDEData
import MoDETensor

/// Geometric shapes on plain backgrounds: ten shape classes with colour, size, position, count,
/// outline and (for arrows) direction attributes; icon/clipart vocabulary.
enum ShapesDomain: SynthRenderer {
    static let classes = [
        SynthClass("circle", ["disc", "round shape"]),
        SynthClass("square", ["square block"]),
        SynthClass("triangle", ["triangular shape"]),
        SynthClass("pentagon", ["five-sided polygon"]),
        SynthClass("hexagon", ["six-sided polygon"]),
        SynthClass("star", ["five-pointed star"]),
        SynthClass("cross", ["plus sign"]),
        SynthClass("diamond", ["rhombus"]),
        SynthClass("heart", ["heart shape", "love heart"]),
        SynthClass("arrow", ["arrow sign"]),
    ]

    static let taskTemplates = [
        "a {c}.", "the {c} icon.", "a drawing of the {c} shape.", "the {c} on a plain background.",
        "a flat {c} clipart.", "a small {c}.", "a large {c}.",
    ]
    static let altTemplates = [
        "{color} {c} {dword}", "{np} on {bg}", "{np} on a {bg} background", "{c} {dword}, {color}",
        "{size} {color} {c}", "{style} {color} {c} {dword}", "{c} {dword} {arrowdir}",
    ]
    static let descriptiveTemplates = [
        "{Np} {pos} on a {bg} background.", "A simple {dword} of {np} on a plain {bg} background.",
        "{Np} drawn as a {style} geometric shape {pos}.", "There is {np} {pos} on a {bg} canvas.",
        "Flat {dword}: {np} with sharp edges on {bg}.", "{Np} {arrowdir} on a {bg} background.",
    ]
    static let marketingTemplates = [
        "{Color} {c} {dword} - free vector download | {site}", "Premium {c} {dword} pack ({color}), download now!",
        "Buy {color} {c} stickers online - best price, free shipping", "{C} {dword} PNG transparent, {color}, HD | {site}",
        "{n} {c} icons for your logo design", "{Color} {c} symbol, editable vector art",
    ]
    static let tagWords = ["icon", "shape", "geometric", "vector", "clipart", "symbol", "flat design", "logo"]
    static let tagSlots = ["color", "size", "bg"]
    static let hosts = ["icons.example.com", "vectors.example.net", "clipart.example.org"]

    static func draw(_ cls: Int, _ canvas: inout SynthCanvas, _ rng: inout SeededRNG) -> SynthAttributes {
        var attrs: SynthAttributes = [:]
        // background
        let bg: NamedColor
        switch rng.weighted([0.4, 0.15, 0.25, 0.2]) {
        case 0: bg = Palette.white
        case 1: bg = NamedColor(name: "light gray", rgb: RGB(bytes: 215, 215, 215))
        case 2:
            let c = rng.pick(Palette.vivid)
            bg = NamedColor(name: "pastel " + c.name, rgb: c.rgb.mixed(Palette.white.rgb, 0.7))
        default: bg = rng.chance(0.5) ? Palette.black : NamedColor(name: "dark blue", rgb: RGB(bytes: 25, 35, 80))
        }
        canvas.fill(bg.rgb.jittered(0.03, &rng))
        attrs["bg"] = bg.name
        let fill = Palette.contrasting(Palette.vivid + [Palette.black, Palette.white], avoid: [bg.rgb], &rng)
        attrs["color"] = fill.name
        let color = fill.rgb.jittered(0.05, &rng)

        let two = rng.chance(0.25)
        let sizeIndex = two ? rng.nextInt(2) : rng.nextInt(3)
        let radius: Float = two ? [rng.uniform(0.11, 0.15), rng.uniform(0.16, 0.2)][sizeIndex]
            : [rng.uniform(0.13, 0.18), rng.uniform(0.19, 0.26), rng.uniform(0.28, 0.38)][sizeIndex]
        attrs["size"] = ["small", "medium-sized", "large"][sizeIndex]
        let outline = rng.chance(0.2)
        let lineWidth = rng.uniform(0.05, 0.075)
        attrs["style"] = outline ? "outlined" : rng.pick(["solid", "flat", "filled"])
        attrs["count"] = two ? "two" : "one"

        var centres: [Vec2] = []
        if two {
            // centres at least 2.2 radii apart, so the two never touch
            let m = radius + 0.02, gap = radius * 1.1
            let a = rng.uniform(m, 0.5 - gap), b = rng.uniform(0.5 + gap, 1 - m), across = rng.uniform(m, 1 - m)
            centres = rng.chance(0.5) ? [Vec2(a, across), Vec2(b, across)] : [Vec2(across, a), Vec2(across, b)]
            attrs["pos"] = centres[0].y == centres[1].y ? "side by side" : "one above the other"
        } else {
            let m = radius + 0.03
            let c = Vec2(rng.uniform(m, 1 - m), rng.uniform(m, 1 - m))
            centres = [c]
            attrs["pos"] = positionPhrase(c)
        }
        let direction = rng.nextInt(4)
        if cls == 9 { attrs["arrowdir"] = "pointing " + ["right", "down", "left", "up"][direction] }
        let angleJitter = rng.uniform(-1, 1)
        let freeAngle = rng.uniform(0, 2 * .pi)
        for c in centres {
            let r = radius
            var sdf: (Vec2) -> Float
            switch cls {
            case 0:
                sdf = { SDF.circle($0, c, r * 0.92) }
            case 1:
                let a = angleJitter * 0.25
                sdf = { SDF.box($0, c, Vec2(r * 0.8, r * 0.8), angle: a) }
            case 2:
                let v = regularPolygon(c + Vec2(0, r * 0.15), r * 1.1, sides: 3, angle: -.pi / 2 + angleJitter * 0.3)
                sdf = { SDF.polygon($0, v) }
            case 3:
                let v = regularPolygon(c, r, sides: 5, angle: freeAngle)
                sdf = { SDF.polygon($0, v) }
            case 4:
                let v = regularPolygon(c, r, sides: 6, angle: freeAngle)
                sdf = { SDF.polygon($0, v) }
            case 5:
                let base = -.pi / 2 + angleJitter * 0.4
                let v = (0..<10).map { k -> Vec2 in
                    let a = base + .pi * Float(k) / 5
                    return c + Vec2(cosf(a), sinf(a)) * (k % 2 == 0 ? r * 1.05 : r * 0.45)
                }
                sdf = { SDF.polygon($0, v) }
            case 6:
                let a = angleJitter * 0.2
                sdf = { min(SDF.box($0, c, Vec2(r * 0.95, r * 0.3), angle: a), SDF.box($0, c, Vec2(r * 0.3, r * 0.95), angle: a)) }
            case 7:
                let a = angleJitter * 0.15
                let v = [Vec2(0, -r), Vec2(r * 0.62, 0), Vec2(0, r), Vec2(-r * 0.62, 0)].map { c + rotate($0, a) }
                sdf = { SDF.polygon($0, v) }
            case 8:
                let a = angleJitter * 0.2
                let v = (0..<28).map { k -> Vec2 in
                    let t = 2 * Float.pi * Float(k) / 28
                    let s = sinf(t)
                    let x = 16 * s * s * s
                    let y = -(13 * cosf(t) - 5 * cosf(2 * t) - 2 * cosf(3 * t) - cosf(4 * t))
                    return c + rotate(Vec2(x, y + 2.5) * (r / 16.5), a)
                }
                sdf = { SDF.polygon($0, v) }
            default:
                let a = Float(direction) * .pi / 2 + angleJitter * 0.1
                let local: [Vec2] = [Vec2(-r, -0.24 * r), Vec2(0.1 * r, -0.24 * r), Vec2(0.1 * r, -0.62 * r), Vec2(r, 0),
                                     Vec2(0.1 * r, 0.62 * r), Vec2(0.1 * r, 0.24 * r), Vec2(-r, 0.24 * r)]
                let v = local.map { c + rotate($0, a) }
                sdf = { SDF.polygon($0, v) }
            }
            if outline {
                let inner = sdf
                sdf = { abs(inner($0)) - lineWidth / 2 }
            }
            canvas.paint(color, bounds: .around(c, r * 1.25 + 0.05), sdf)
        }
        return attrs
    }

    static func slots(_ cls: Int, term: String, _ attrs: SynthAttributes, _ rng: inout SeededRNG) -> [String: String] {
        let color = attrs["color"] ?? ""
        var np: String
        if attrs["count"] == "two" {
            np = "two \(color) \(Captions.plural(term))"
        } else {
            let size = rng.chance(0.5) ? (attrs["size"] ?? "") + " " : ""
            np = "a \(size)\(color) \(term)"
        }
        if attrs["style"] == "outlined", rng.chance(0.5) { np += " outline" }
        return ["np": np, "dword": rng.pick(["icon", "clipart", "vector graphic", "geometric shape", "symbol", "sticker", "flat illustration"])]
    }

    /// "in the top left corner", "in the center", … for a shape centred at `c`.
    static func positionPhrase(_ c: Vec2) -> String {
        let col = c.x < 0.4 ? "left" : c.x > 0.6 ? "right" : ""
        let row = c.y < 0.4 ? "top" : c.y > 0.6 ? "bottom" : ""
        switch (row.isEmpty, col.isEmpty) {
        case (true, true): return "in the center"
        case (true, false): return "on the \(col) side"
        case (false, true): return "at the \(row)"
        case (false, false): return "in the \(row) \(col) corner"
        }
    }
}
