import Foundation
import MoDEData
import MoDETensor

/// Handwritten digits drawn as jittered strokes (no fonts): ten classes, on paper, lined paper,
/// chalkboards, sticky notes and house-number signs, with ink colour, stroke weight and slant.
enum DigitsDomain: SynthRenderer {
    static let classes: [SynthClass] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        .enumerated().map { i, w in SynthClass(w, [String(i)], mixed: "digit " + w) }

    static let taskTemplates = [
        "a handwritten digit {c}.", "the number {c}.", "the digit {c} written in ink.", "a photo of the number {c}.",
        "handwritten {c}.", "the numeral {c} on paper.",
    ]
    static let altTemplates = [
        "handwritten {c}", "{dword} {c}", "{dword} {c} on {bg}", "{c} written in {ink}", "{weight} {c} {tool}",
        "handwritten {dword} {c}",
    ]
    static let descriptiveTemplates = [
        "A handwritten {dword} {c} in {ink} on {bg}.", "The {dword} {c} written with a {tool} on {bg}, {slant}.",
        "{Ink} {dword} {c} scribbled on {bg}.", "A {weight} {c} drawn in {ink}, centered on {bg}.",
        "Close-up of the {dword} {c} written by hand on {bg}.",
    ]
    static let marketingTemplates = [
        "House number {c} plaque, {ink} on {bg} - custom signs | {site}",
        "Learn to write the {dword} {c}! Free printable handwriting worksheet",
        "{C} - handwritten font sample, free for personal use", "Kids practice sheet: tracing the {dword} {c} | {site}",
        "Math flashcard: the {dword} {c}, {ink} on {bg}",
    ]
    static let tagWords = ["handwriting", "digit", "number", "numeral", "handwritten", "math", "writing", "mnist"]
    static let tagSlots = ["ink", "weight", "bg"]
    static let hosts = ["handwriting.example.org", "worksheets.example.com", "numbers.example.net"]

    /// Strokes of each digit in glyph coordinates (a unit box, y down).
    static func strokes(_ digit: Int, _ rng: inout SeededRNG) -> [[Vec2]] {
        let full = 2 * Float.pi
        switch digit {
        case 0:
            return [arc(Vec2(0.5, 0.5), rx: 0.24, ry: 0.34, from: 0, to: full, steps: 20)]
        case 1:
            var s = [[Vec2(0.36, 0.3), Vec2(0.52, 0.16), Vec2(0.52, 0.84)]]
            if rng.chance(0.5) { s.append([Vec2(0.36, 0.84), Vec2(0.68, 0.84)]) }
            return s
        case 2:
            return [arc(Vec2(0.5, 0.36), rx: 0.2, ry: 0.19, from: .pi * 1.05, to: full + 0.55, steps: 10)
                + [Vec2(0.28, 0.84), Vec2(0.74, 0.84)]]
        case 3:
            return [arc(Vec2(0.49, 0.34), rx: 0.19, ry: 0.17, from: .pi * 1.15, to: full + .pi / 2, steps: 10)
                + arc(Vec2(0.49, 0.67), rx: 0.21, ry: 0.17, from: -.pi / 2, to: .pi * 0.85, steps: 10)]
        case 4:
            return [[Vec2(0.64, 0.84), Vec2(0.64, 0.16), Vec2(0.26, 0.62), Vec2(0.78, 0.62)]]
        case 5:
            return [[Vec2(0.72, 0.16), Vec2(0.36, 0.16), Vec2(0.34, 0.47)]
                + arc(Vec2(0.5, 0.63), rx: 0.21, ry: 0.2, from: .pi * 1.25, to: .pi * 2.8, steps: 12)]
        case 6:
            return [arc(Vec2(0.55, 0.47), rx: 0.23, ry: 0.31, from: .pi * 1.7, to: .pi * 0.95, steps: 8)
                + arc(Vec2(0.5, 0.64), rx: 0.19, ry: 0.19, from: .pi, to: .pi + full, steps: 16)]
        case 7:
            var s = [[Vec2(0.28, 0.16), Vec2(0.74, 0.16), Vec2(0.44, 0.84)]]
            if rng.chance(0.3) { s.append([Vec2(0.42, 0.5), Vec2(0.68, 0.5)]) }
            return s
        case 8:
            return [arc(Vec2(0.5, 0.33), rx: 0.17, ry: 0.16, from: 0, to: full, steps: 14),
                    arc(Vec2(0.5, 0.66), rx: 0.21, ry: 0.18, from: 0, to: full, steps: 16)]
        default:
            return [arc(Vec2(0.5, 0.36), rx: 0.19, ry: 0.19, from: 0, to: full, steps: 16),
                    [Vec2(0.69, 0.36), Vec2(0.66, 0.6), Vec2(0.62, 0.84)]]
        }
    }

    static func draw(_ cls: Int, _ canvas: inout SynthCanvas, _ rng: inout SeededRNG) -> SynthAttributes {
        var attrs: SynthAttributes = [:]
        let ink: NamedColor
        var inkWord: String
        var tool: String
        switch rng.weighted([0.35, 0.2, 0.2, 0.25]) {
        case 0:  // paper, sometimes ruled
            canvas.fill(RGB(bytes: 246, 244, 236).jittered(0.02, &rng))
            if rng.chance(0.5) {
                attrs["bg"] = "lined paper"
                let gap = rng.uniform(0.18, 0.26), phase = rng.uniform(0, gap)
                let line = RGB(bytes: 150, 180, 225)
                var y = phase
                while y < 1 {
                    let yy = y
                    canvas.paint(line, alpha: 0.8, bounds: Box(x0: 0, y0: yy - 0.03, x1: 1, y1: yy + 0.03)) { abs($0.y - yy) - 0.012 }
                    y += gap
                }
            } else {
                attrs["bg"] = rng.pick(["white paper", "paper", "a notebook page"])
            }
            ink = rng.pick([Palette.black, Palette.blue, Palette.red, Palette.gray])
            tool = ink.name == "gray" ? "pencil" : rng.pick(["pen", "marker", "ballpoint pen"])
            inkWord = ink.name == "gray" ? "pencil" : ink.name + " ink"
        case 1:  // chalkboard
            canvas.fill((rng.chance(0.6) ? RGB(bytes: 30, 70, 50) : RGB(bytes: 40, 42, 46)).jittered(0.03, &rng))
            attrs["bg"] = rng.pick(["a chalkboard", "a blackboard"])
            ink = rng.chance(0.7) ? Palette.white : Palette.yellow
            tool = "chalk"
            inkWord = ink.name + " chalk"
        case 2:  // sticky note
            let pink = rng.chance(0.3)
            canvas.fill((pink ? RGB(bytes: 250, 190, 210) : RGB(bytes: 250, 230, 110)).jittered(0.03, &rng))
            attrs["bg"] = pink ? "a pink sticky note" : "a yellow sticky note"
            ink = rng.pick([Palette.black, Palette.blue])
            tool = "marker"
            inkWord = ink.name + " marker"
        default:  // house-number sign: a coloured plate with a light border
            let plate = rng.pick([Palette.blue, Palette.green, Palette.black, Palette.red])
            canvas.fill(plate.rgb.mixed(Palette.black.rgb, 0.15).jittered(0.03, &rng))
            if rng.chance(0.6) {
                let m = rng.uniform(0.05, 0.09)
                canvas.paint(Palette.white.rgb, alpha: 0.9) { SDF.box($0, Vec2(0.5, 0.5), Vec2(0.5 - m, 0.5 - m)).magnitude - 0.015 }
            }
            attrs["bg"] = "a \(plate.name) sign"
            ink = Palette.white
            tool = "paint brush"
            inkWord = "white paint"
        }
        attrs["ink"] = inkWord
        attrs["tool"] = tool
        let weightIndex = rng.weighted([0.3, 0.45, 0.25])
        let width: Float = [rng.uniform(0.045, 0.06), rng.uniform(0.065, 0.085), rng.uniform(0.095, 0.12)][weightIndex]
        attrs["weight"] = ["thin", "", "bold"][weightIndex]
        let shear = rng.uniform(-0.15, 0.3)
        attrs["slant"] = shear > 0.15 ? "slanted to the right" : shear < -0.08 ? "slanted to the left" : "upright"
        let scale = rng.uniform(0.72, 1.0)
        let angle = rng.uniform(-0.12, 0.12)
        let offset = Vec2(rng.uniform(-0.08, 0.08), rng.uniform(-0.06, 0.06))
        let wobble = rng.uniform(0.004, 0.014)
        let strokes = strokes(cls, &rng).map { stroke in
            stroke.map { q -> Vec2 in
                var v = q - Vec2(0.5, 0.5)
                v.x += shear * -v.y
                v = rotate(v * scale, angle) + Vec2(0.5, 0.5) + offset
                return v + Vec2(rng.nextNormal(), rng.nextNormal()) * wobble
            }
        }
        let color = ink.rgb.jittered(0.05, &rng)
        let alpha: Float = tool == "chalk" || tool == "pencil" ? rng.uniform(0.75, 0.92) : 1
        let all = strokes.flatMap { $0 }
        canvas.paint(color, alpha: alpha, bounds: .around(all, margin: width)) { p in
            var d = Float.infinity
            for s in strokes { d = min(d, SDF.polyline(p, s, width)) }
            return d
        }
        return attrs
    }

    static func slots(_ cls: Int, term: String, _ attrs: SynthAttributes, _ rng: inout SeededRNG) -> [String: String] {
        ["dword": rng.pick(["digit", "number", "numeral", "figure"])]
    }
}
