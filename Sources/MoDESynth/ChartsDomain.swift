import Foundation
import MoDEData
import MoDETensor

/// Data charts: ten chart types with colour scheme, trend, item count and light/dark theme
/// attributes; business/statistics vocabulary.
enum ChartsDomain: SynthRenderer {
    static let classes = [
        SynthClass("bar chart", ["bar graph", "column chart"]),
        SynthClass("horizontal bar chart", ["horizontal bar graph"]),
        SynthClass("stacked bar chart", ["stacked column chart"]),
        SynthClass("histogram", ["frequency histogram", "distribution plot"]),
        SynthClass("line chart", ["line graph", "trend line"]),
        SynthClass("area chart", ["area graph", "filled line chart"]),
        SynthClass("scatter plot", ["scatter chart", "scatterplot"]),
        SynthClass("pie chart", ["pie graph"]),
        SynthClass("donut chart", ["doughnut chart", "ring chart"]),
        SynthClass("heatmap", ["heat map", "correlation matrix"]),
    ]

    static let taskTemplates = [
        "a {c}.", "the {c} of sales data.", "a {c} in a business report.", "a simple {c}.", "{c} infographic.",
        "a screenshot of a {c}.",
    ]
    static let altTemplates = ["{c}", "{c} of {data}", "{color} {c}", "{data} {c} {year}", "{c} showing {data}", "{theme} {c}"]
    static let descriptiveTemplates = [
        "A {c} showing {data} {trend}.", "{C} with {count} {items} comparing {data}.",
        "Simple {color} {c} on a {theme} background.", "A {theme} {c} of {data} by {period}.",
        "Business {chartword}: a {color} {c} of {data}.",
    ]
    static let marketingTemplates = [
        "{Data} report {year}: download the {c} template | {site}", "Free {c} template for presentations, {color} theme",
        "How to make a {c} in a spreadsheet (step by step)", "Quarterly {data} dashboard - {c} and KPIs | {site}",
        "{C} maker online - create charts in seconds",
    ]
    static let tagWords = ["chart", "graph", "data", "statistics", "infographic", "analytics", "report", "dashboard"]
    static let tagSlots = ["color", "theme"]
    static let hosts = ["charts.example.com", "reports.example.org", "dashboards.example.net"]

    static func draw(_ cls: Int, _ canvas: inout SynthCanvas, _ rng: inout SeededRNG) -> SynthAttributes {
        var attrs: SynthAttributes = [:]
        let dark = rng.chance(0.25)
        attrs["theme"] = dark ? "dark" : "white"
        canvas.fill(dark ? RGB(bytes: 30, 32, 40).jittered(0.02, &rng) : RGB(bytes: 250, 250, 250).jittered(0.015, &rng))
        let ink = dark ? RGB(bytes: 200, 200, 205) : RGB(bytes: 60, 60, 65)
        let multi = cls == 2 || cls == 7 || cls == 8 || (cls != 9 && rng.chance(0.25))
        let main = rng.pick([Palette.blue, Palette.orange, Palette.green, Palette.purple, Palette.red, Palette.cyan])
        attrs["color"] = multi ? rng.pick(["multicolored", "colorful"]) : main.name
        let series = rng.shuffled([Palette.blue, Palette.orange, Palette.green, Palette.red, Palette.purple, Palette.yellow, Palette.cyan, Palette.pink]).map(\.rgb)
        // plot area
        let x0 = rng.uniform(0.12, 0.18), x1 = rng.uniform(0.88, 0.94), y0 = rng.uniform(0.1, 0.2), y1 = rng.uniform(0.84, 0.9)
        let cartesian = cls <= 6
        if rng.chance(0.4) {  // a title bar
            let w = rng.uniform(0.25, 0.55), c = Vec2(0.5, y0 * 0.45)
            canvas.paint(ink, alpha: 0.7, bounds: .around(c, w)) { SDF.box($0, c, Vec2(w / 2, 0.018)) }
        }
        if cartesian {
            if rng.chance(0.4) {  // gridlines
                for k in 1...4 {
                    let y = y1 - (y1 - y0) * Float(k) / 4.5
                    canvas.paint(ink, alpha: 0.25, bounds: Box(x0: x0, y0: y - 0.02, x1: x1, y1: y + 0.02)) { SDF.segment($0, Vec2(x0, y), Vec2(x1, y), 0.01) }
                }
            }
            let axis: (Vec2) -> Float = { min(SDF.segment($0, Vec2(x0, y0), Vec2(x0, y1), 0.022), SDF.segment($0, Vec2(x0, y1), Vec2(x1, y1), 0.022)) }
            canvas.paint(ink, axis)
        }
        let trendIndex = rng.weighted([0.4, 0.3, 0.3])
        let slope: Float = [1, -1, 0][trendIndex]
        attrs["trend"] = ["rising over time", "falling over time", "with ups and downs"][trendIndex]
        func values(_ n: Int, noise: Float) -> [Float] {
            (0..<n).map { k in
                let t = n > 1 ? Float(k) / Float(n - 1) : 0.5
                return min(0.95, max(0.1, 0.5 + slope * (t - 0.5) * 0.7 + rng.uniform(-noise, noise)))
            }
        }
        let w = x1 - x0, h = y1 - y0
        var count = 0
        switch cls {
        case 0, 2:  // vertical bars (stacked: 2–3 coloured segments)
            let n = 4 + rng.nextInt(cls == 0 ? 4 : 2)
            count = n
            let vals = values(n, noise: 0.2)
            let slot = w / Float(n), bw = slot * rng.uniform(0.5, 0.7)
            for (k, v) in vals.enumerated() {
                let cx = x0 + slot * (Float(k) + 0.5)
                if cls == 0 {
                    let top = y1 - v * h, c = Vec2(cx, (top + y1) / 2)
                    let col = multi ? series[k % series.count] : main.rgb
                    canvas.paint(col, bounds: Box(x0: cx - bw, y0: top - 0.02, x1: cx + bw, y1: y1)) { SDF.box($0, c, Vec2(bw / 2, (y1 - top) / 2)) }
                } else {
                    let parts = 2 + (rng.chance(0.5) ? 1 : 0)
                    var bottom = y1
                    for s in 0..<parts {
                        let seg = v * h * rng.uniform(0.25, 0.45)
                        let top = bottom - seg, c = Vec2(cx, (top + bottom) / 2)
                        canvas.paint(series[s], bounds: Box(x0: cx - bw, y0: top - 0.02, x1: cx + bw, y1: bottom + 0.02)) { SDF.box($0, c, Vec2(bw / 2, seg / 2)) }
                        bottom = top
                    }
                }
            }
        case 1:  // horizontal bars
            let n = 3 + rng.nextInt(4)
            count = n
            let vals = values(n, noise: 0.25)
            let slot = h / Float(n), bh = slot * rng.uniform(0.5, 0.7)
            for (k, v) in vals.enumerated() {
                let cy = y0 + slot * (Float(k) + 0.5), right = x0 + v * w
                let col = multi ? series[k % series.count] : main.rgb
                let c = Vec2((x0 + right) / 2, cy)
                canvas.paint(col, bounds: Box(x0: x0, y0: cy - bh, x1: right + 0.02, y1: cy + bh)) { SDF.box($0, c, Vec2((right - x0) / 2, bh / 2)) }
            }
        case 3:  // histogram: contiguous bins of a bell-shaped distribution
            let n = 8 + rng.nextInt(5)
            count = n
            let mu = rng.uniform(0.35, 0.65), sigma = rng.uniform(0.15, 0.25)
            let slot = w / Float(n)
            for k in 0..<n {
                let t = (Float(k) + 0.5) / Float(n)
                let bell: Float = expf(-(t - mu) * (t - mu) / (2 * sigma * sigma))
                let v = min(0.95, 0.08 + 0.85 * bell + rng.uniform(-0.05, 0.05))
                let top = y1 - v * h, cx = x0 + slot * (Float(k) + 0.5), c = Vec2(cx, (top + y1) / 2)
                canvas.paint(main.rgb, bounds: Box(x0: cx - slot, y0: top - 0.02, x1: cx + slot, y1: y1)) { SDF.box($0, c, Vec2(slot / 2 - 0.004, (y1 - top) / 2)) }
            }
            attrs["trend"] = "with a bell-shaped distribution"
        case 4, 5:  // line and area charts
            let n = 6 + rng.nextInt(5)
            count = n
            let lines = cls == 4 && rng.chance(0.3) ? 2 : 1
            for l in 0..<lines {
                let vals = values(n, noise: 0.15)
                let pts = vals.enumerated().map { Vec2(x0 + w * Float($0.offset) / Float(n - 1), y1 - $0.element * h) }
                let col = lines > 1 || multi ? series[l] : main.rgb
                if cls == 5 {
                    let poly = pts + [Vec2(x1, y1), Vec2(x0, y1)]
                    canvas.paint(col, alpha: 0.55, bounds: .around(poly, margin: 0.02)) { SDF.polygon($0, poly) }
                }
                canvas.paint(col, bounds: .around(pts, margin: 0.04)) { SDF.polyline($0, pts, 0.03) }
                if cls == 4 && rng.chance(0.4) {
                    for p in pts { canvas.paint(col, bounds: .around(p, 0.05)) { SDF.circle($0, p, 0.028) } }
                }
            }
        case 6:  // scatter plot
            let n = 14 + rng.nextInt(17)
            count = n
            let r = rng.uniform(0.018, 0.028)
            let groups = rng.chance(0.3) ? 2 : 1
            for k in 0..<n {
                let t = rng.uniform(0.05, 0.95)
                let v = min(0.95, max(0.05, 0.5 + slope * (t - 0.5) * 0.8 + rng.nextNormal() * (slope == 0 ? 0.25 : 0.1)))
                let c = Vec2(x0 + t * w, y1 - v * h)
                let col = groups == 2 ? series[k % 2] : main.rgb
                canvas.paint(col, alpha: 0.9, bounds: .around(c, r + 0.02)) { SDF.circle($0, c, r) }
            }
        case 7, 8:  // pie and donut charts
            let n = 3 + rng.nextInt(4)
            count = n
            var cuts: [Float] = (0..<n).map { _ in rng.uniform(0.4, 1.6) }
            let total = cuts.reduce(0, +)
            var acc: Float = 0
            for k in 0..<n { acc += cuts[k] / total; cuts[k] = acc }
            let legend = rng.chance(0.35)
            let c = Vec2(legend ? 0.4 : 0.5, 0.53), r = rng.uniform(0.28, legend ? 0.32 : 0.38)
            let start = rng.uniform(0, 1), inner = cls == 8 ? r * rng.uniform(0.45, 0.62) : 0
            let cols = series
            canvas.paintShaded(bounds: .around(c, r + 0.02)) { p in
                let d = p - c
                var a = atan2f(d.y, d.x) / (2 * .pi) + 1 - start
                a -= a.rounded(.down)
                var k = 0
                while k < n - 1 && a > cuts[k] { k += 1 }
                let dist = inner > 0 ? max(length(d) - r, inner - length(d)) : length(d) - r
                return (dist, cols[k])
            }
            if legend {
                for k in 0..<n {
                    let lc = Vec2(0.84, 0.3 + Float(k) * 0.09)
                    canvas.paint(cols[k], bounds: .around(lc, 0.04)) { SDF.box($0, lc, Vec2(0.025, 0.025)) }
                }
            }
            attrs["trend"] = "by category"
        default:  // heatmap
            let n = 5 + rng.nextInt(4), m = 5 + rng.nextInt(4)
            count = n * m
            let ramp: [RGB] = rng.pick([
                [RGB(bytes: 50, 70, 180), RGB(bytes: 245, 240, 200), RGB(bytes: 200, 40, 40)],
                [RGB(bytes: 250, 250, 210), RGB(bytes: 245, 160, 60), RGB(bytes: 150, 20, 40)],
                [RGB(bytes: 240, 245, 250), RGB(bytes: 110, 160, 220), RGB(bytes: 20, 50, 130)],
            ])
            let blobs = (0..<3).map { _ in (Vec2(rng.uniform(0, 1), rng.uniform(0, 1)), rng.uniform(-1, 1)) }
            let hx0 = x0 - 0.04, hy0 = y0 - 0.02
            let cw = (x1 - hx0) / Float(m), ch = (y1 - hy0) / Float(n)
            for i in 0..<n {
                for j in 0..<m {
                    let t = Vec2((Float(j) + 0.5) / Float(m), (Float(i) + 0.5) / Float(n))
                    var v: Float = 0.5
                    for (bc, s) in blobs { v += 0.5 * s * expf(-dot(t - bc, t - bc) * 8) }
                    v = min(1, max(0, v + rng.uniform(-0.12, 0.12)))
                    let col = v < 0.5 ? ramp[0].mixed(ramp[1], v * 2) : ramp[1].mixed(ramp[2], v * 2 - 1)
                    let c = Vec2(hx0 + cw * (Float(j) + 0.5), hy0 + ch * (Float(i) + 0.5))
                    canvas.paint(col, bounds: .around(c, max(cw, ch))) { SDF.box($0, c, Vec2(cw / 2 - 0.003, ch / 2 - 0.003)) }
                }
            }
            attrs["trend"] = "as a color-coded grid"
        }
        attrs["count"] = Captions.numberWord(count)
        return attrs
    }

    static func slots(_ cls: Int, term: String, _ attrs: SynthAttributes, _ rng: inout SeededRNG) -> [String: String] {
        let items = ["bars", "bars", "stacked bars", "bins", "data points", "data points", "points", "slices", "segments", "cells"][cls]
        let data = cls == 7 || cls == 8 ? rng.pick(["market share", "budget split", "survey answers", "traffic sources"])
            : rng.pick(["sales", "revenue", "website traffic", "survey results", "monthly expenses", "population growth",
                        "temperatures", "user signups", "energy use"])
        return ["items": items, "data": data, "year": String(2015 + rng.nextInt(10)),
                "period": rng.pick(["month", "quarter", "year", "region", "category"]),
                "chartword": rng.pick(["chart", "graph", "visualization", "infographic"])]
    }
}
