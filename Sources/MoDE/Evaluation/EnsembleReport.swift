import MoDEData
import Foundation
import MoDETensor
import MoDEFormats

/// The results of an ensemble evaluation: every variant on every task, and the routing weights.
/// `write(to:)` lays out the report folder.
public struct EnsembleReport: Sendable, Codable {
    /// An expert as the manifest describes it.
    public struct Expert: Sendable, Codable, Equatable {
        public var name: String
        /// Training samples the expert saw (0: unknown).
        public var samplesSeen: Int
        /// Fine clusters that make up the expert's data.
        public var fineCentres: Int
        public init(name: String, samplesSeen: Int, fineCentres: Int) {
            self.name = name; self.samplesSeen = samplesSeen; self.fineCentres = fineCentres
        }
    }

    /// A task as evaluated.
    public struct Task: Sendable, Codable, Equatable {
        public var name: String
        public var kind: BenchmarkTask.Kind
        /// Usable images, and texts (classes or captions).
        public var samples: Int
        public var texts: Int
        /// Samples skipped, by reason.
        public var skipped: [String: Int]
        public init(name: String, kind: BenchmarkTask.Kind, samples: Int, texts: Int, skipped: [String: Int] = [:]) {
            self.name = name; self.kind = kind; self.samples = samples; self.texts = texts; self.skipped = skipped
        }
    }

    public var experts: [Expert]
    public var baselines: [String]
    /// Rows of the report, in order.
    public var variants: [EnsembleVariant]
    public var tasks: [Task] = []
    /// variant name → task name → result.
    public var results: [String: [String: TaskResult]] = [:]
    /// task name → the routed methods' weights.
    public var routing: [String: [TaskRouting]] = [:]
    /// Routing settings to print (λ, constants, centres).
    public var routingSettings: [String: String]

    public init(experts: [Expert], baselines: [String], variants: [EnsembleVariant], routingSettings: [String: String] = [:]) {
        self.experts = experts
        self.baselines = baselines
        self.variants = variants
        self.routingSettings = routingSettings
    }

    /// Adds one task's results (keyed by variant name) and routing.
    public mutating func add(task: Task, results byVariant: [String: TaskResult], routing r: [TaskRouting]) {
        tasks.append(task)
        for (v, res) in byVariant { results[v, default: [:]][task.name] = res }
        routing[task.name] = r
    }

    /// The main metric (fraction) of `variant` on `task` (see `Ensemble.mainMetric`).
    public func main(_ variant: String, _ task: String) -> Double? {
        results[variant]?[task].flatMap(Ensemble.mainMetric)
    }

    /// The mean main metric of `variant` over the tasks (nil when a task lacks it).
    public func mean(_ variant: String) -> Double? {
        guard !tasks.isEmpty else { return nil }
        var sum = 0.0
        for t in tasks {
            guard let v = main(variant, t.name) else { return nil }
            sum += v
        }
        return sum / Double(tasks.count)
    }

    /// The routed methods, in variant order.
    public var routedMethods: [String] { variants.filter { $0.kind == .routed }.map(\.source) }

    // MARK: Files

    /// Chart files, relative to the report folder.
    public static let chartFolder = "charts"
    public static func routingChart(_ method: String) -> String { "\(chartFolder)/routing-\(Ensemble.safeName(method)).svg" }
    public static let accuracyChart = "\(chartFolder)/accuracy.svg"
    public static let clusterChart = "\(chartFolder)/cluster-sizes.svg"

    /// Writes (atomically) into `directory`: VARIANT/ holding clip_benchmark's result file of
    /// each task (`TaskResult.fileName`; pretrained = the variant), summary.csv, skipped.csv
    /// (`TaskResult.skippedCSV`), routing.json, report.md and charts/*.svg.
    public func write(to directory: String) throws {
        let fm = FileManager.default
        func path(_ rel: String) -> String { (directory as NSString).appendingPathComponent(rel) }
        try fm.createDirectory(atPath: path(Self.chartFolder), withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        for v in variants {
            try fm.createDirectory(atPath: path(v.name), withIntermediateDirectories: true)
            for t in tasks {
                guard let r = results[v.name]?[t.name] else { continue }
                try AtomicFile.write(r.clipBenchmarkJSON(), to: path("\(v.name)/\(r.fileName)"))
            }
        }
        try AtomicFile.write(Data(summaryCSV().utf8), to: path("summary.csv"))
        try AtomicFile.write(Data(TaskResult.skippedCSV(tasks.map { ($0.name, $0.skipped) }).utf8), to: path(TaskResult.skippedFile))
        try AtomicFile.write(enc.encode(routingFile()), to: path("routing.json"))
        for m in routedMethods { try AtomicFile.write(Data(routingSVG(m).utf8), to: path(Self.routingChart(m))) }
        try AtomicFile.write(Data(accuracySVG().utf8), to: path(Self.accuracyChart))
        try AtomicFile.write(Data(clusterSVG().utf8), to: path(Self.clusterChart))
        try AtomicFile.write(Data(markdown().utf8), to: path("report.md"))
    }

    /// summary.csv: one row per task (and a final `mean` row), one column per variant; the main
    /// metric as a fraction.
    public func summaryCSV() -> String {
        func val(_ v: Double?) -> String { v.map { String(format: "%.6f", $0) } ?? "" }
        var csv = CSVWriter()
        csv.row(["task", "kind", "metric"] + variants.map(\.name))
        for t in tasks {
            let metric = t.kind == .classification ? "acc1" : "mean_recall@1"
            csv.row([t.name, t.kind.rawValue, metric] + variants.map { val(main($0.name, t.name)) })
        }
        csv.row(["mean", "", "main"] + variants.map { val(mean($0.name)) })
        return csv.text
    }

    /// routing.json's content.
    public struct RoutingFile: Codable, Sendable {
        public struct Method: Codable, Sendable {
            public var method: String
            public var weights: [Double]
            /// Retrieval: the mean of the per-query weights, and each query's weights.
            public var meanQueryWeights: [Double]?
            public var perQuery: [[Double]]?
            public var nearestFine: [Int32]?
            public var distances: [Double]?
            public var expertOfClass: [Int]?
        }
        public struct TaskEntry: Codable, Sendable {
            public var task: String
            public var kind: BenchmarkTask.Kind
            public var methods: [Method]
        }
        public var experts: [String]
        public var settings: [String: String]
        public var tasks: [TaskEntry]
    }

    public func routingFile() -> RoutingFile {
        RoutingFile(experts: experts.map(\.name), settings: routingSettings, tasks: tasks.map { t in
            RoutingFile.TaskEntry(task: t.name, kind: t.kind, methods: (routing[t.name] ?? []).map { r in
                RoutingFile.Method(method: r.method, weights: r.weights, meanQueryWeights: r.perQuery == nil ? nil : r.meanQueryWeights,
                                   perQuery: r.perQuery, nearestFine: r.nearestFine, distances: r.distances, expertOfClass: r.expertOfClass)
            })
        })
    }

    // MARK: Charts

    /// Heat map of `method`'s weights: tasks × experts (retrieval: the corpus weights).
    public func routingSVG(_ method: String) -> String {
        let rows = tasks.map { t in routing[t.name]?.first { $0.method == method }?.weights ?? [Double](repeating: .nan, count: experts.count) }
        return SVGChart.heatMap(title: "Routing weights p(expert | task), \(method)", rowLabels: tasks.map(\.name),
                                columnLabels: experts.map(\.name), values: rows, xLabel: "expert", yLabel: "task", maxValue: 1)
    }

    /// Grouped bars: the main metric (%) per task, one bar per variant, and the mean.
    public func accuracySVG() -> String {
        let groups = tasks.map(\.name) + ["mean"]
        let values = variants.map { v in tasks.map { t in main(v.name, t.name).map { $0 * 100 } } + [mean(v.name).map { $0 * 100 }] }
        return SVGChart.groupedBars(title: "Zero-shot results per task", groups: groups, series: variants.map(\.name), values: values,
                                    xLabel: "task", yLabel: "acc1 / mean recall@1 (%)", yMax: 100)
    }

    /// Bars of each expert's training samples (or, when unknown, its fine-cluster count).
    public func clusterSVG() -> String {
        let samples = experts.contains { $0.samplesSeen > 0 }
        return SVGChart.bars(title: samples ? "Training samples per expert" : "Fine clusters per expert",
                             labels: experts.map(\.name),
                             values: experts.map { Double(samples ? $0.samplesSeen : $0.fineCentres) },
                             notes: samples ? experts.map { "\($0.fineCentres) fine" } : nil,
                             xLabel: "expert", yLabel: samples ? "samples seen" : "fine clusters")
    }

    // MARK: Markdown

    static func pct(_ v: Double?) -> String { v.map { String(format: "%.1f", $0 * 100) } ?? "–" }
    /// "1.2 points above NAME", "… below NAME", or "level with NAME" (within 0.05 points).
    static func relation(_ d: Double, _ name: String) -> String {
        abs(d) * 100 < 0.05 ? "level with \(name)" : String(format: "%.1f", abs(d) * 100) + (d > 0 ? " points above " : " points below ") + name
    }

    /// The comparison sentences, computed from the numbers.
    public func comparison() -> String {
        guard !tasks.isEmpty else { return "No task was evaluated." }
        let expertVariants = variants.filter { $0.kind == .expert }
        let ranked = expertVariants.compactMap { v in mean(v.name).map { (v, $0) } }.sorted { $0.1 > $1.1 }
        let ensembles = variants.filter { $0.kind == .routed } + (routedMethods.isEmpty ? variants.filter { $0.kind == .uniform } : [])
        var out: [String] = []
        for e in ensembles {
            guard let m = mean(e.name) else { continue }
            let label = e.kind == .routed ? "Routed MoDE (\(e.source))" : "The uniform average of the experts"
            var parts: [String] = []
            for b in variants where b.kind == .baseline {
                if let bm = mean(b.name) { parts.append(Self.relation(m - bm, "\(b.name) (\(Self.pct(bm)))")) }
            }
            if e.kind == .routed, let u = mean("uniform") { parts.append(Self.relation(m - u, "the uniform average (\(Self.pct(u)))")) }
            if let best = ranked.first {
                parts.append(Self.relation(m - best.1, "the best single expert, \(best.0.name) (\(Self.pct(best.1)))"))
                if let worst = ranked.last, ranked.count > 1 {
                    parts.append(Self.relation(m - worst.1, "the weakest, \(worst.0.name) (\(Self.pct(worst.1)))"))
                }
            }
            var sentence = "\(label) has a mean of \(Self.pct(m)) over \(tasks.count) task\(tasks.count == 1 ? "" : "s")"
            sentence += parts.isEmpty ? "." : ": " + parts.joined(separator: "; ") + "."
            for b in variants where b.kind == .baseline {
                let diffs = tasks.compactMap { t in main(e.name, t.name).flatMap { x in main(b.name, t.name).map { (t.name, x - $0) } } }
                let wins = diffs.filter { $0.1 > 0 }.count, ties = diffs.filter { $0.1 == 0 }.count
                sentence += " Against \(b.name) it wins on \(wins) of \(diffs.count) tasks" + (ties > 0 ? " (\(ties) tied)" : "")
                if let worst = diffs.min(by: { $0.1 < $1.1 }), worst.1 < 0 {
                    sentence += "; its largest loss is \(worst.0) (\(String(format: "%+.1f", worst.1 * 100)))"
                }
                if let best = diffs.max(by: { $0.1 < $1.1 }), best.1 > 0 {
                    sentence += "; its largest gain is \(best.0) (\(String(format: "%+.1f", best.1 * 100)))"
                }
                sentence += "."
            }
            if e.kind == .routed, experts.count > 1 {
                // How far routing moved from uniform: near-uniform weights make it the uniform average.
                let u = 1 / Double(experts.count)
                let spread = tasks.compactMap { t in routing[t.name]?.first { $0.method == e.source } }
                    .flatMap { r in (r.perQuery ?? []).flatMap { $0 } + r.weights }.map { abs($0 - u) }.max() ?? 0
                sentence += spread < 0.05
                    ? String(format: " Its weights stay within %.3f of uniform on every task, so it behaves like the uniform average.", spread)
                    : String(format: " Its weights move up to %.3f away from uniform.", spread)
            }
            out.append(sentence)
        }
        if variants.allSatisfy({ $0.kind != .baseline }) {
            out.append("No baseline (e.g. a dense model trained on all data) was given, so the ensemble is compared with its own experts only.")
        }
        return out.joined(separator: "\n\n")
    }

    /// report.md.
    public func markdown() -> String {
        var s = "# MoDE ensemble: zero-shot evaluation\n\n"
        s += "\(experts.count) data expert\(experts.count == 1 ? "" : "s") (\(experts.map(\.name).joined(separator: ", ")))"
        s += baselines.isEmpty ? ", no baseline" : ", baseline\(baselines.count == 1 ? "" : "s") \(baselines.joined(separator: ", "))"
        s += "; \(tasks.count) task\(tasks.count == 1 ? "" : "s"). "
        s += "Scores are the main metric in percent: acc1 for classification, the mean of image and text recall@1 for retrieval. "
        s += "Ensembles sum the experts' cosine logits weighted by p(expert | task); retrieval text→image routes each query on its own.\n\n"
        s += "## Results\n\n"
        s += "| variant | " + tasks.map { Self.cell($0.name) }.joined(separator: " | ") + " | mean |\n"
        s += "| --- |" + String(repeating: " ---: |", count: tasks.count + 1) + "\n"
        let columns = tasks.map(\.name)
        let best = columns.map { t in variants.compactMap { main($0.name, t) }.max() }
        let bestMean = variants.compactMap { mean($0.name) }.max()
        for v in variants {
            var row = "| \(Self.cell(v.name)) |"
            for (i, t) in columns.enumerated() {
                let x = main(v.name, t)
                row += " " + (x != nil && x == best[i] ? "**\(Self.pct(x))**" : Self.pct(x)) + " |"
            }
            let m = mean(v.name)
            row += " " + (m != nil && m == bestMean ? "**\(Self.pct(m))**" : Self.pct(m)) + " |\n"
            s += row
        }
        s += "\nBold: the best in each column. Full metrics per variant: `VARIANT/*.json` (clip_benchmark's result files); the table as fractions: `summary.csv`.\n\n"
        s += "## How routed MoDE compares\n\n" + comparison() + "\n\n"
        s += "![Results per task](\(Self.accuracyChart))\n\n"
        if !routedMethods.isEmpty {
            s += "## Routing weights\n\n"
            if !routingSettings.isEmpty {
                s += "Settings: " + routingSettings.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: ", ") + ".\n\n"
            }
            for m in routedMethods {
                s += "### \(m)\n\n"
                s += "| task | " + experts.map { Self.cell($0.name) }.joined(separator: " | ") + " |\n"
                s += "| --- |" + String(repeating: " ---: |", count: experts.count) + "\n"
                for t in tasks {
                    guard let r = routing[t.name]?.first(where: { $0.method == m }) else { continue }
                    s += "| \(Self.cell(t.name)) | " + r.weights.map { String(format: "%.3f", $0) }.joined(separator: " | ") + " |\n"
                    if r.perQuery != nil {
                        s += "| \(Self.cell(t.name)) (text→image, mean over queries) | "
                            + r.meanQueryWeights.map { String(format: "%.3f", $0) }.joined(separator: " | ") + " |\n"
                    }
                }
                s += "\n![Routing weights, \(m)](\(Self.routingChart(m)))\n\n"
            }
            s += "Each class's nearest fine centre and distance, and every text query's weights: `routing.json`.\n\n"
        }
        s += "## Experts\n\n| expert | fine clusters | samples seen |\n| --- | ---: | ---: |\n"
        for e in experts { s += "| \(Self.cell(e.name)) | \(e.fineCentres) | \(e.samplesSeen > 0 ? String(e.samplesSeen) : "–") |\n" }
        s += "\n![Cluster sizes](\(Self.clusterChart))\n\n"
        s += "## Tasks\n\n| task | kind | images | texts | skipped |\n| --- | --- | ---: | ---: | --- |\n"
        for t in tasks {
            let skipped = t.skipped.isEmpty ? "0" : t.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            s += "| \(Self.cell(t.name)) | \(t.kind == .classification ? "classification" : "retrieval") | \(t.samples) | \(t.texts) | \(Self.cell(skipped)) |\n"
        }
        return s
    }

    /// `s` safe inside a markdown table cell.
    static func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// A plain-text table of the main metric (variants × tasks + mean), for the terminal.
    public func textTable() -> String {
        let header = ["variant"] + tasks.map(\.name) + ["mean"]
        var rows = [header]
        for v in variants { rows.append([v.name] + tasks.map { Self.pct(main(v.name, $0.name)) } + [Self.pct(mean(v.name))]) }
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            r.enumerated().map { c, x in c == 0 ? x.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[c] - x.count) + x }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
