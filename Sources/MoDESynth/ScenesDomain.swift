import Foundation
import MoDEData
import MoDETensor

/// Simple landscape compositions (sky, ground, sun, trees, buildings …): ten scene classes with
/// weather, time-of-day and style attributes; travel/scenery vocabulary.
enum ScenesDomain: SynthRenderer {
    static let classes = [
        SynthClass("beach", ["seaside", "shore"]),
        SynthClass("forest", ["woods", "woodland"]),
        SynthClass("mountains", ["mountain range", "snowy peaks"]),
        SynthClass("city skyline", ["skyline", "cityscape"]),
        SynthClass("desert", ["sand dunes"]),
        SynthClass("snowy field", ["winter field", "snow-covered field"]),
        SynthClass("night sky", ["starry sky", "starry night"]),
        SynthClass("sunset", ["sundown", "dusk"]),
        SynthClass("farmhouse", ["country house", "cottage"]),
        SynthClass("rainbow", ["rainbow over the hills"]),
    ]

    static let taskTemplates = [
        "a picture of the {c}.", "a landscape with the {c}.", "the {c}.", "a painting of the {c}.", "{c} scenery.",
        "a postcard of the {c}.",
    ]
    static let altTemplates = [
        "{c} landscape", "{c} {dword}", "beautiful {c} {dword}", "the {c} on a {weather} day", "{c} {style}",
        "{c} at {time}",
    ]
    static let descriptiveTemplates = [
        "A {style} of the {c} with {detail}.", "{C} {dword} with {detail} on a {weather} day.",
        "View of the {c}: {detail} under a {skyword} sky.", "A peaceful {c} {dword}, {detail}.",
        "Simple {style} of the {c} at {time}.",
    ]
    static let marketingTemplates = [
        "Book your {c} getaway today! Best deals | {site}", "{C} wallpaper 4K, {weather} {dword}",
        "Top 10 {c} destinations to visit this summer", "{C} canvas print - wall art for your living room",
        "{C} {style}, framed poster | {site}",
    ]
    static let tagWords = ["landscape", "nature", "travel", "scenery", "outdoor", "view", "vacation", "postcard"]
    static let tagSlots = ["weather", "time"]
    static let hosts = ["travel.example.org", "scenery.example.net", "postcards.example.com"]

    static let details = [
        ["a calm sea and golden sand", "blue water and yellow sand", "waves and a sandy shore"],
        ["tall green trees", "pine trees", "dense trees"],
        ["snowy peaks", "grey rocky summits", "high peaks"],
        ["tall buildings", "office towers with lit windows", "dark skyscrapers"],
        ["sand dunes and a cactus", "orange sand", "a hot sun over the dunes"],
        ["white snow", "a snowman", "falling snowflakes"],
        ["a crescent moon and stars", "bright stars", "the moon over dark hills"],
        ["the sun setting on the horizon", "an orange sky", "a red sun going down"],
        ["a small house with a red roof", "a cozy house on the grass", "a house and a tree"],
        ["a colorful rainbow over green hills", "rainbow arcs in the sky", "a rainbow after the rain"],
    ]

    static let skyBlue = RGB(bytes: 110, 170, 235), skyPale = RGB(bytes: 200, 225, 245)
    static let grass = RGB(bytes: 70, 150, 60), sand = RGB(bytes: 230, 205, 130)

    static func draw(_ cls: Int, _ canvas: inout SynthCanvas, _ rng: inout SeededRNG) -> SynthAttributes {
        var attrs: SynthAttributes = ["time": "daytime", "weather": "sunny"]
        let horizon = rng.uniform(0.55, 0.72)
        var sunny = rng.chance(0.6)
        var cloudy = rng.chance(0.35)

        func sky(_ top: RGB, _ bottom: RGB) {
            canvas.verticalGradient(top.jittered(0.04, &rng), bottom.jittered(0.04, &rng), y0: 0, y1: horizon)
        }
        func ground(_ c: RGB, _ y: Float) {
            let cc = c.jittered(0.04, &rng)
            canvas.paint(cc, bounds: Box(x0: 0, y0: y - 0.02, x1: 1, y1: 1)) { y - $0.y }
        }
        func hills(_ c: RGB, _ base: Float, _ amp: Float) {
            let f = rng.uniform(4, 9), ph = rng.uniform(0, 6)
            let cc = c.jittered(0.04, &rng)
            canvas.paint(cc, bounds: Box(x0: 0, y0: base - amp - 0.02, x1: 1, y1: 1)) { p in (base - amp * (0.5 + 0.5 * sinf(p.x * f + ph))) - p.y }
        }
        func sun(_ c: Vec2, _ r: Float, _ color: RGB) { canvas.paint(color, bounds: .around(c, r + 0.02)) { SDF.circle($0, c, r) } }
        func cloud(_ c: Vec2, _ s: Float) {
            let parts = [(Vec2(-0.6, 0.1), 0.45), (Vec2(0, -0.15), 0.6), (Vec2(0.6, 0.1), 0.45)].map { (c + $0.0 * s, Float($0.1) * s) }
            canvas.paint(RGB(bytes: 248, 248, 250), alpha: 0.95, bounds: .around(c, 1.2 * s)) { p in
                parts.map { SDF.circle(p, $0.0, $0.1) }.min()!
            }
        }
        func tree(_ x: Float, _ baseY: Float, _ h: Float, _ leaves: RGB, pine: Bool) {
            let trunk = RGB(bytes: 100, 65, 35)
            canvas.paint(trunk, bounds: Box(x0: x - 0.05, y0: baseY - h * 0.4, x1: x + 0.05, y1: baseY)) {
                SDF.box($0, Vec2(x, baseY - h * 0.18), Vec2(h * 0.06, h * 0.18))
            }
            if pine {
                let v = [Vec2(x, baseY - h), Vec2(x + h * 0.32, baseY - h * 0.25), Vec2(x - h * 0.32, baseY - h * 0.25)]
                canvas.paint(leaves, bounds: .around(v, margin: 0.02)) { SDF.polygon($0, v) }
            } else {
                let c = Vec2(x, baseY - h * 0.62)
                canvas.paint(leaves, bounds: .around(c, h * 0.4)) { SDF.circle($0, c, h * 0.34) }
            }
        }

        switch cls {
        case 0:  // beach
            sky(skyBlue, skyPale)
            let sea = horizon - rng.uniform(0.1, 0.16)
            ground(RGB(bytes: 40, 110, 190), sea)
            let shore = horizon + rng.uniform(0, 0.06)
            let a = rng.uniform(0.01, 0.03), f = rng.uniform(8, 14)
            let sandColor = sand.jittered(0.04, &rng)
            canvas.paint(sandColor, bounds: Box(x0: 0, y0: shore - a - 0.02, x1: 1, y1: 1)) { p in shore + a * sinf(p.x * f) - p.y }
            if rng.chance(0.4) {  // a parasol
                let x = rng.uniform(0.2, 0.8), top = shore + 0.05
                canvas.paint(RGB(bytes: 240, 240, 240), bounds: Box(x0: x - 0.02, y0: top, x1: x + 0.02, y1: 1)) {
                    SDF.segment($0, Vec2(x, top), Vec2(x, min(0.97, top + 0.25)), 0.02)
                }
                let v = [Vec2(x - 0.13, top + 0.05), Vec2(x, top - 0.06), Vec2(x + 0.13, top + 0.05)]
                canvas.paint(rng.pick([Palette.red, Palette.orange, Palette.blue]).rgb, bounds: .around(v, margin: 0.02)) { SDF.polygon($0, v) }
            }
        case 1:  // forest
            sky(skyBlue, skyPale)
            ground(grass.mixed(Palette.black.rgb, 0.2), horizon)
            let n = 5 + rng.nextInt(5)
            for k in 0..<n {
                let x = (Float(k) + rng.uniform(0.1, 0.9)) / Float(n)
                let h = rng.uniform(0.3, 0.55)
                let base = horizon + rng.uniform(0.02, 0.2)
                let leaves = RGB(bytes: 30, 110, 45).mixed(Palette.black.rgb, rng.uniform(0, 0.4))
                tree(x, base, h, leaves, pine: rng.chance(0.6))
            }
            sunny = sunny && rng.chance(0.5)
        case 2:  // mountains
            sky(skyBlue, skyPale)
            let n = 2 + rng.nextInt(2)
            for k in 0..<n {
                let x = (Float(k) + rng.uniform(0.2, 0.8)) / Float(n)
                let top = rng.uniform(0.12, 0.32), half = rng.uniform(0.28, 0.45)
                let base = horizon + 0.05
                let v = [Vec2(x, top), Vec2(x + half, base), Vec2(x - half, base)]
                let rock = RGB(bytes: 115, 115, 130).mixed(RGB(bytes: 70, 80, 110), rng.uniform(0, 1))
                canvas.paint(rock, bounds: .around(v, margin: 0.02)) { SDF.polygon($0, v) }
                let capT = rng.uniform(0.25, 0.4)
                let cap = [Vec2(x, top), Vec2(x + half * capT, top + (base - top) * capT), Vec2(x - half * capT, top + (base - top) * capT)]
                canvas.paint(RGB(bytes: 245, 245, 250), bounds: .around(cap, margin: 0.02)) { SDF.polygon($0, cap) }
            }
            ground(grass, horizon + 0.04)
        case 3:  // city skyline
            let dusk = rng.chance(0.4)
            if dusk { sky(RGB(bytes: 90, 60, 140), RGB(bytes: 245, 150, 90)); attrs["time"] = "dusk"; sunny = false }
            else { sky(skyBlue, skyPale) }
            var x: Float = rng.uniform(-0.05, 0.02)
            while x < 1 {
                let w = rng.uniform(0.09, 0.17), top = rng.uniform(0.2, horizon - 0.05)
                let body = RGB(bytes: 50, 55, 70).mixed(RGB(bytes: 90, 95, 110), rng.uniform(0, 1))
                let c = Vec2(x + w / 2, (top + 1) / 2), h = Vec2(w / 2 - 0.006, (1 - top) / 2)
                canvas.paint(body, bounds: Box(x0: x, y0: top, x1: x + w, y1: 1)) { SDF.box($0, c, h) }
                if rng.chance(0.7) {  // lit windows
                    let lit = RGB(bytes: 250, 220, 110)
                    let cols = max(1, Int(w / 0.045)), step: Float = 0.06
                    var y = top + 0.04
                    while y < 0.95 {
                        for k in 0..<cols {
                            let wx = x + w * (Float(k) + 0.5) / Float(cols)
                            let wc = Vec2(wx, y)
                            canvas.paint(lit, alpha: 0.9, bounds: .around(wc, 0.03)) { SDF.box($0, wc, Vec2(0.01, 0.012)) }
                        }
                        y += step
                    }
                }
                x += w
            }
        case 4:  // desert
            sky(RGB(bytes: 150, 195, 235), RGB(bytes: 240, 230, 210))
            hills(RGB(bytes: 225, 170, 95), horizon, rng.uniform(0.04, 0.1))
            hills(RGB(bytes: 205, 140, 70), horizon + 0.12, rng.uniform(0.03, 0.08))
            for _ in 0..<(1 + rng.nextInt(2)) {  // cacti
                let x = rng.uniform(0.15, 0.85), base = rng.uniform(horizon + 0.12, 0.95), h = rng.uniform(0.18, 0.3)
                let cactus = RGB(bytes: 50, 130, 60)
                let arms = [(Vec2(x, base), Vec2(x, base - h)),
                            (Vec2(x, base - h * 0.45), Vec2(x - h * 0.3, base - h * 0.45)),
                            (Vec2(x - h * 0.3, base - h * 0.45), Vec2(x - h * 0.3, base - h * 0.75)),
                            (Vec2(x, base - h * 0.6), Vec2(x + h * 0.28, base - h * 0.6)),
                            (Vec2(x + h * 0.28, base - h * 0.6), Vec2(x + h * 0.28, base - h * 0.85))]
                canvas.paint(cactus, bounds: Box(x0: x - h * 0.4, y0: base - h - 0.03, x1: x + h * 0.4, y1: base + 0.03)) { p in
                    arms.map { SDF.segment(p, $0.0, $0.1, h * 0.16) }.min()!
                }
            }
            sunny = sunny || rng.chance(0.5)
            cloudy = cloudy && rng.chance(0.3)
        case 5:  // snowy field
            sky(RGB(bytes: 185, 195, 210), RGB(bytes: 225, 230, 238))
            ground(RGB(bytes: 248, 250, 252), horizon)
            if rng.chance(0.5) {  // snowman
                let x = rng.uniform(0.25, 0.75), base = rng.uniform(horizon + 0.1, 0.92)
                let r1 = rng.uniform(0.09, 0.13), r2 = r1 * 0.7
                let c1 = Vec2(x, base - r1), c2 = Vec2(x, base - 2 * r1 - r2 * 0.8)
                canvas.paint(RGB(bytes: 150, 165, 190), bounds: .around(c1, r1 + 0.03)) { SDF.ring($0, c1, r1, 0.02) }
                canvas.paint(RGB(bytes: 150, 165, 190), bounds: .around(c2, r2 + 0.03)) { SDF.ring($0, c2, r2, 0.02) }
                canvas.paint(RGB(bytes: 240, 100, 30), bounds: .around(c2, r2)) { SDF.circle($0, c2 + Vec2(r2 * 0.3, 0), r2 * 0.2) }
            } else {
                for _ in 0..<(2 + rng.nextInt(3)) {
                    tree(rng.uniform(0.05, 0.95), horizon + rng.uniform(0.02, 0.15), rng.uniform(0.25, 0.4), RGB(bytes: 40, 85, 60), pine: true)
                }
            }
            for _ in 0..<(10 + rng.nextInt(20)) {  // snowflakes
                let c = Vec2(rng.uniform(0, 1), rng.uniform(0, 1))
                canvas.paint(Palette.white.rgb, alpha: 0.9, bounds: .around(c, 0.03)) { SDF.circle($0, c, 0.012) }
            }
            sunny = false
            attrs["weather"] = "snowy"
        case 6:  // night sky
            canvas.verticalGradient(RGB(bytes: 8, 10, 35).jittered(0.02, &rng), RGB(bytes: 30, 40, 90).jittered(0.03, &rng), y0: 0, y1: horizon)
            for _ in 0..<(10 + rng.nextInt(20)) {
                let c = Vec2(rng.uniform(0, 1), rng.uniform(0, horizon - 0.05))
                canvas.paint(RGB(bytes: 250, 250, 235), alpha: rng.uniform(0.6, 1), bounds: .around(c, 0.03)) { SDF.circle($0, c, 0.01) }
            }
            let m = Vec2(rng.uniform(0.2, 0.8), rng.uniform(0.12, 0.3)), r = rng.uniform(0.08, 0.12)
            let cut = m + Vec2(r * 0.45, -r * 0.2)
            canvas.paint(RGB(bytes: 250, 240, 190), bounds: .around(m, r + 0.02)) { max(SDF.circle($0, m, r), -SDF.circle($0, cut, r * 0.9)) }
            hills(RGB(bytes: 10, 20, 15), horizon, rng.uniform(0.03, 0.1))
            attrs["time"] = "night"; attrs["weather"] = "clear"
            sunny = false; cloudy = false
        case 7:  // sunset
            canvas.verticalGradient(RGB(bytes: 120, 60, 150).jittered(0.05, &rng), RGB(bytes: 250, 150, 60).jittered(0.05, &rng), y0: 0, y1: horizon)
            let c = Vec2(rng.uniform(0.25, 0.75), horizon + 0.01), r = rng.uniform(0.12, 0.2)
            sun(c, r, RGB(bytes: 250, 90, 40).mixed(RGB(bytes: 250, 200, 60), rng.uniform(0, 0.6)))
            ground(rng.chance(0.5) ? RGB(bytes: 40, 30, 70) : RGB(bytes: 25, 25, 40), horizon)
            if rng.chance(0.5) {  // reflection on water
                for k in 0..<3 {
                    let y = horizon + 0.06 + Float(k) * 0.07, hw = r * (0.9 - Float(k) * 0.2)
                    canvas.paint(RGB(bytes: 240, 120, 60), alpha: 0.8, bounds: Box(x0: c.x - hw - 0.02, y0: y - 0.03, x1: c.x + hw + 0.02, y1: y + 0.03)) {
                        SDF.segment($0, Vec2(c.x - hw, y), Vec2(c.x + hw, y), 0.025)
                    }
                }
            }
            attrs["time"] = "dusk"; attrs["weather"] = "clear"
            sunny = false; cloudy = cloudy && rng.chance(0.5)
        case 8:  // farmhouse
            sky(skyBlue, skyPale)
            ground(grass, horizon)
            let x = rng.uniform(0.3, 0.7), base = rng.uniform(horizon + 0.1, 0.9), w = rng.uniform(0.18, 0.26)
            let body = rng.pick([RGB(bytes: 235, 225, 200), RGB(bytes: 225, 80, 60), RGB(bytes: 240, 210, 90)])
            let bc = Vec2(x, base - w * 0.5)
            canvas.paint(body, bounds: .around(bc, w + 0.02)) { SDF.box($0, bc, Vec2(w * 0.55, w * 0.5)) }
            let roof = [Vec2(x - w * 0.72, base - w), Vec2(x, base - w * 1.7), Vec2(x + w * 0.72, base - w)]
            canvas.paint(rng.pick([RGB(bytes: 170, 40, 35), RGB(bytes: 110, 70, 40)]), bounds: .around(roof, margin: 0.02)) { SDF.polygon($0, roof) }
            let dc = Vec2(x + rng.uniform(-0.3, 0.3) * w, base - w * 0.22)
            canvas.paint(RGB(bytes: 90, 55, 30), bounds: .around(dc, w * 0.3)) { SDF.box($0, dc, Vec2(w * 0.11, w * 0.22)) }
            if rng.chance(0.6) { tree(x < 0.5 ? x + w * 1.6 : x - w * 1.6, base, rng.uniform(0.25, 0.4), RGB(bytes: 40, 120, 50), pine: false) }
        default:  // rainbow
            sky(rng.chance(0.5) ? skyBlue : RGB(bytes: 150, 170, 195), skyPale)
            let c = Vec2(rng.uniform(0.35, 0.65), horizon + rng.uniform(0, 0.1)), r = rng.uniform(0.35, 0.5), band = rng.uniform(0.025, 0.04)
            let colors = [Palette.red, Palette.orange, Palette.yellow, Palette.green, Palette.blue, Palette.purple].map(\.rgb)
            for (k, col) in colors.enumerated() {
                let rr = r - Float(k) * band
                canvas.paint(col, alpha: 0.85, bounds: Box(x0: c.x - rr - band, y0: c.y - rr - band, x1: c.x + rr + band, y1: c.y)) {
                    max(SDF.ring($0, c, rr, band), $0.y - c.y)
                }
            }
            hills(grass, horizon + 0.05, rng.uniform(0.03, 0.08))
            attrs["weather"] = "rainy"
            sunny = sunny && rng.chance(0.5)
        }
        if sunny {
            let c = Vec2(rng.uniform(0.1, 0.9), rng.uniform(0.08, 0.22))
            sun(c, rng.uniform(0.06, 0.1), RGB(bytes: 252, 215, 60))
        }
        if cloudy {
            for _ in 0..<(1 + rng.nextInt(2)) { cloud(Vec2(rng.uniform(0.1, 0.9), rng.uniform(0.08, 0.28)), rng.uniform(0.06, 0.1)) }
            if attrs["weather"] == "sunny" { attrs["weather"] = sunny ? "partly cloudy" : "cloudy" }
        } else if !sunny, attrs["weather"] == "sunny" {
            attrs["weather"] = "clear"
        }
        return attrs
    }

    static func slots(_ cls: Int, term: String, _ attrs: SynthAttributes, _ rng: inout SeededRNG) -> [String: String] {
        let sky = attrs["time"] == "night" ? "dark" : attrs["time"] == "dusk" ? "glowing" : attrs["weather"] == "cloudy" ? "cloudy" : "clear blue"
        return ["detail": rng.pick(details[cls]), "dword": rng.pick(["landscape", "scenery", "view", "scene"]),
                "style": rng.pick(["painting", "illustration", "drawing", "postcard", "photo"]), "skyword": sky]
    }
}
