import Foundation

/// Small self-contained SVG charts (plain text, no scripts or external resources) for reports:
/// a heat map, grouped bars and simple bars, each with a title, axis labels and a legend or
/// value labels.
public enum SVGChart {
    /// Categorical colours for series (cycled).
    public static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    /// A heat map of `values` (rows, columns) in [0, `maxValue`] (default: the largest value, at
    /// least 1e-12): one `<rect class="cell">` per entry, shaded white → dark blue, with the value
    /// printed inside (`format`, a printf format).
    public static func heatMap(title: String, rowLabels: [String], columnLabels: [String], values: [[Double]],
                               xLabel: String, yLabel: String, maxValue: Double? = nil, format: String = "%.2f") -> String {
        precondition(values.count == rowLabels.count && values.allSatisfy { $0.count == columnLabels.count }, "values must be rows × columns")
        let cellW = 64.0, cellH = 26.0
        let left = 24 + 7 * Double(rowLabels.map(\.count).max() ?? 4) + 16
        let top = 56.0
        let colLabelSpace = 8 + 6.5 * Double(columnLabels.map(\.count).max() ?? 4)
        let width = max(left + cellW * Double(columnLabels.count) + 120, titleWidth(title))
        let height = top + cellH * Double(rowLabels.count) + colLabelSpace + 40
        let top0 = values.flatMap { $0 }.filter(\.isFinite).max() ?? 1
        let vmax = max(maxValue ?? top0, 1e-12)
        var s = header(width: width, height: height, title: title)
        for (i, row) in values.enumerated() {
            let y = top + Double(i) * cellH
            s += text(left - 8, y + cellH / 2 + 4, rowLabels[i], anchor: "end")
            for (j, v) in row.enumerated() {
                let x = left + Double(j) * cellW
                let f = v.isFinite ? min(1, max(0, v / vmax)) : 0
                s += "<rect class=\"cell\" data-row=\"\(i)\" data-column=\"\(j)\" x=\(q(x)) y=\(q(y)) width=\(q(cellW)) height=\(q(cellH)) "
                    + "fill=\"\(shade(f))\" stroke=\"#ffffff\"><title>\(esc(rowLabels[i])), \(esc(columnLabels[j])): \(esc(num(v, format)))</title></rect>\n"
                s += text(x + cellW / 2, y + cellH / 2 + 4, num(v, format), anchor: "middle", size: 11, fill: f > 0.55 ? "#ffffff" : "#222222")
            }
        }
        let gridBottom = top + cellH * Double(rowLabels.count)
        for (j, c) in columnLabels.enumerated() {
            let x = left + (Double(j) + 0.5) * cellW
            s += "<text x=\(q(x)) y=\(q(gridBottom + 12)) font-size=\"11\" text-anchor=\"end\" transform=\"rotate(-35 \(f1(x)) \(f1(gridBottom + 12)))\">\(esc(c))</text>\n"
        }
        s += text(left + cellW * Double(columnLabels.count) / 2, height - 10, xLabel, anchor: "middle", weight: "bold")
        s += verticalText(14, top + cellH * Double(rowLabels.count) / 2, yLabel)
        // Legend: a five-step scale.
        let lx = left + cellW * Double(columnLabels.count) + 24
        s += text(lx, top - 8, "weight", anchor: "start", size: 11)
        for k in 0...4 {
            let f = Double(4 - k) / 4
            s += "<rect x=\(q(lx)) y=\(q(top + Double(k) * 18)) width=\"18\" height=\"18\" fill=\"\(shade(f))\" stroke=\"#999999\"/>\n"
            s += text(lx + 24, top + Double(k) * 18 + 13, num(f * vmax, format), anchor: "start", size: 11)
        }
        return s + "</svg>\n"
    }

    /// Grouped bars: `values[s][g]` is series s in group g (nil: no bar). Y axis from 0 to
    /// `yMax` (default: a round number above the largest value), legend of series at the right.
    public static func groupedBars(title: String, groups: [String], series: [String], values: [[Double?]],
                                   xLabel: String, yLabel: String, yMax: Double? = nil, format: String = "%.1f") -> String {
        precondition(values.count == series.count && values.allSatisfy { $0.count == groups.count }, "values must be series × groups")
        let barW = 14.0, gap = 18.0
        let groupW = barW * Double(max(series.count, 1)) + gap
        let left = 70.0, top = 50.0, plotH = 260.0
        let labelSpace = 10 + 6.5 * Double(groups.map(\.count).max() ?? 4) * 0.6
        let legendW = 24 + 7 * Double(series.map(\.count).max() ?? 4)
        let plotW = groupW * Double(groups.count)
        let width = max(left + plotW + 30 + legendW, titleWidth(title))
        let height = max(top + plotH + labelSpace + 44, top + 20 * Double(series.count) + 20)
        let largest = values.flatMap { $0 }.compactMap { $0 }.filter(\.isFinite).max() ?? 1
        let (top0, step) = niceScale(yMax ?? largest)
        var s = header(width: width, height: height, title: title)
        let bottom = top + plotH
        func y(_ v: Double) -> Double { bottom - plotH * min(1, max(0, v / top0)) }
        s += valueAxis(left: left, top: top, bottom: bottom, plotW: plotW, top0: top0, step: step, y: y)
        for (g, name) in groups.enumerated() {
            let gx = left + Double(g) * groupW + gap / 2
            for (k, row) in values.enumerated() {
                guard let v = row[g], v.isFinite else { continue }
                let x = gx + Double(k) * barW
                s += "<rect class=\"bar\" x=\(q(x)) y=\(q(y(v))) width=\(q(barW - 1)) height=\(q(bottom - y(v))) fill=\"\(palette[k % palette.count])\">"
                    + "<title>\(esc(series[k])), \(esc(name)): \(esc(num(v, format)))</title></rect>\n"
            }
            let cx = gx + barW * Double(series.count) / 2
            s += "<text x=\(q(cx)) y=\(q(bottom + 14)) font-size=\"11\" text-anchor=\"end\" transform=\"rotate(-30 \(f1(cx)) \(f1(bottom + 14)))\">\(esc(name))</text>\n"
        }
        s += text(left + plotW / 2, height - 10, xLabel, anchor: "middle", weight: "bold")
        s += verticalText(16, top + plotH / 2, yLabel)
        let lx = left + plotW + 30
        for (k, name) in series.enumerated() {
            let ly = top + Double(k) * 20
            s += "<rect class=\"legend\" x=\(q(lx)) y=\(q(ly)) width=\"12\" height=\"12\" fill=\"\(palette[k % palette.count])\"/>\n"
            s += text(lx + 18, ly + 10, name, anchor: "start", size: 11)
        }
        return s + "</svg>\n"
    }

    /// Grid lines with labels from 0 to `top0` every `step` (positions by `y`), and the two axes.
    static func valueAxis(left: Double, top: Double, bottom: Double, plotW: Double, top0: Double, step: Double,
                          y: (Double) -> Double) -> String {
        var s = ""
        var tick = 0.0
        while tick <= top0 + step / 2 {
            s += "<line x1=\(q(left)) y1=\(q(y(tick))) x2=\(q(left + plotW)) y2=\(q(y(tick))) stroke=\"#e0e0e0\"/>\n"
            s += text(left - 6, y(tick) + 4, num(tick, step < 1 ? "%.2f" : "%.0f"), anchor: "end", size: 11)
            tick += step
        }
        s += "<line x1=\(q(left)) y1=\(q(top)) x2=\(q(left)) y2=\(q(bottom)) stroke=\"#333333\"/>\n"
        s += "<line x1=\(q(left)) y1=\(q(bottom)) x2=\(q(left + plotW)) y2=\(q(bottom)) stroke=\"#333333\"/>\n"
        return s
    }

    /// Simple bars, one per label, with each bar's value (and `notes[i]` when given) printed above it.
    public static func bars(title: String, labels: [String], values: [Double], notes: [String]? = nil,
                            xLabel: String, yLabel: String, format: String = "%.0f") -> String {
        precondition(values.count == labels.count && (notes?.count ?? labels.count) == labels.count, "one value per label")
        let barW = 36.0, gap = 24.0
        let left = 80.0, top = 60.0, plotH = 240.0
        let labelSpace = 10 + 6.5 * Double(labels.map(\.count).max() ?? 4) * 0.6
        let plotW = (barW + gap) * Double(labels.count) + gap
        let width = max(left + plotW + 40, titleWidth(title))
        let height = top + plotH + labelSpace + 44
        let (top0, step) = niceScale(values.filter(\.isFinite).max() ?? 1)
        var s = header(width: width, height: height, title: title)
        let bottom = top + plotH
        func y(_ v: Double) -> Double { bottom - plotH * min(1, max(0, v / top0)) }
        s += valueAxis(left: left, top: top, bottom: bottom, plotW: plotW, top0: top0, step: step, y: y)
        for (i, v) in values.enumerated() {
            let x = left + gap + Double(i) * (barW + gap)
            let h = v.isFinite ? bottom - y(v) : 0
            s += "<rect class=\"bar\" x=\(q(x)) y=\(q(bottom - h)) width=\(q(barW)) height=\(q(h)) fill=\"\(palette[i % palette.count])\">"
                + "<title>\(esc(labels[i])): \(esc(num(v, format)))</title></rect>\n"
            s += text(x + barW / 2, bottom - h - 6, num(v, format), anchor: "middle", size: 11)
            if let n = notes?[i], !n.isEmpty { s += text(x + barW / 2, bottom - h - 19, n, anchor: "middle", size: 10, fill: "#555555") }
            let cx = x + barW / 2
            s += "<text x=\(q(cx)) y=\(q(bottom + 14)) font-size=\"11\" text-anchor=\"end\" transform=\"rotate(-30 \(f1(cx)) \(f1(bottom + 14)))\">\(esc(labels[i]))</text>\n"
        }
        s += text(left + plotW / 2, height - 10, xLabel, anchor: "middle", weight: "bold")
        s += verticalText(16, top + plotH / 2, yLabel)
        return s + "</svg>\n"
    }

    /// `s` escaped for XML text and attribute values.
    public static func esc(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&apos;"
            default:
                // Control characters are not allowed in XML 1.0.
                if let a = c.asciiValue, a < 0x20, a != 0x09, a != 0x0A, a != 0x0D { o += " " } else { o.append(c) }
            }
        }
        return o
    }

    /// A round axis maximum ≥ `v` and its tick step (about five ticks).
    static func niceScale(_ v: Double) -> (max: Double, step: Double) {
        let v = v.isFinite && v > 0 ? v : 1
        let raw = v / 5
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        return (ceil(v / step - 1e-9) * step, step)
    }

    /// Room for a bold 15-px title.
    static func titleWidth(_ title: String) -> Double { 8.5 * Double(title.count) + 40 }

    static func header(width: Double, height: Double, title: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\(q(width.rounded(.up))) height=\(q(height.rounded(.up))) "
            + "viewBox=\"0 0 \(f1(width.rounded(.up))) \(f1(height.rounded(.up)))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
            + text(width / 2, 24, title, anchor: "middle", size: 15, weight: "bold")
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String, size: Int = 12, weight: String? = nil, fill: String = "#222222") -> String {
        "<text x=\(q(x)) y=\(q(y)) font-size=\"\(size)\" text-anchor=\"\(anchor)\" fill=\"\(fill)\"\(weight.map { " font-weight=\"\($0)\"" } ?? "")>\(esc(s))</text>\n"
    }

    static func verticalText(_ x: Double, _ y: Double, _ s: String) -> String {
        "<text x=\(q(x)) y=\(q(y)) font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\" transform=\"rotate(-90 \(f1(x)) \(f1(y)))\">\(esc(s))</text>\n"
    }

    /// White (0) → dark blue (1).
    static func shade(_ f: Double) -> String {
        let a = (247.0, 251.0, 255.0), b = (8.0, 48.0, 107.0)
        func mix(_ u: Double, _ v: Double) -> Int { Int((u + (v - u) * f).rounded()) }
        return String(format: "#%02x%02x%02x", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    static func num(_ v: Double, _ format: String) -> String { v.isFinite ? String(format: format, v) : "–" }
    static func f1(_ v: Double) -> String { String(format: "%.1f", v) }
    static func q(_ v: Double) -> String { "\"" + f1(v) + "\"" }
}
