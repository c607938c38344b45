import Foundation
import MoDEData
import MoDEModels

/// Result files as clip_benchmark (1.6) writes them, so that `clip_benchmark build` tabulates
/// ours with its own: the same six keys, its default file name, and its JSON text.
extension TaskResult {
    /// clip_benchmark's default output name, `{dataset}_{pretrained}_{model}_{language}_{task}.json`,
    /// with its slugs: '/' in the dataset becomes '_'; a pretrained path becomes its last
    /// component (clip_benchmark does so for a file; here for a folder too).
    public var fileName: String {
        "\(dataset.replacingOccurrences(of: "/", with: "_"))_\(Self.pathSlug(pretrained))_\(model)_\(language)_\(task).json"
    }

    /// The last component of `path` (trailing '/' ignored); "_" when nothing is left.
    static func pathSlug(_ path: String) -> String {
        let last = path.split(separator: "/").last.map(String.init) ?? ""
        return last.isEmpty || last == "." || last == ".." ? "_" : last
    }

    /// The file's text as Python's `json.dump` writes clip_benchmark's dict: keys dataset,
    /// model, pretrained, task, metrics, language in that order, on one line, ASCII only,
    /// floats as Python's `repr`, NaN and ±infinity as the bare tokens NaN, Infinity and
    /// -Infinity (Python's `json.load` reads them; so does `read`). Metrics in clip_benchmark's
    /// order: acc1, acc5, mean_per_class_recall; image_ then text_retrieval_recall@k by k.
    public func clipBenchmarkJSON() -> Data {
        let ordered = metrics.keys.sorted { Self.metricRank($0) < Self.metricRank($1) }
        let m = ordered.map { "\(Self.pythonString($0)): \(Self.pythonFloat(metrics[$0]!))" }.joined(separator: ", ")
        let fields = [("dataset", Self.pythonString(dataset)), ("model", Self.pythonString(model)),
                      ("pretrained", Self.pythonString(pretrained)), ("task", Self.pythonString(task)),
                      ("metrics", "{" + m + "}"), ("language", Self.pythonString(language))]
        return Data(("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}").utf8)
    }

    /// Reads a result file (ours or clip_benchmark's; NaN and Infinity tokens allowed). Keys
    /// beyond the six are ignored; `samples` and `skipped` are not in the file.
    public static func read(_ path: String) throws -> TaskResult {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DataError.unreadable(path, error.localizedDescription)
        }
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        do { return try decoder.decode(TaskResult.self, from: data) } catch {
            throw DataError.invalid(path, "not a clip_benchmark result file (dataset, model, pretrained, task, metrics, language): \(error)")
        }
    }

    /// The samples skipped per task and reason, beside the result files (which have no room for them).
    public static let skippedFile = "skipped.csv"

    /// skipped.csv: `dataset,reason,count`, one row per task and reason (tasks in the given order,
    /// reasons sorted); only the header when nothing was skipped.
    public static func skippedCSV(_ tasks: [(dataset: String, skipped: [String: Int])]) -> String {
        var s = "dataset,reason,count\n"
        for t in tasks {
            for (reason, n) in t.skipped.sorted(by: { $0.key < $1.key }) { s += "\(csvField(t.dataset)),\(csvField(reason)),\(n)\n" }
        }
        return s
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// Sort key: clip_benchmark's classification metrics first, then retrieval recalls by k
    /// (image before text), then any other metric by name.
    static func metricRank(_ key: String) -> (Int, Int, Int, String) {
        if let i = ["acc1", "acc5", "mean_per_class_recall"].firstIndex(of: key) { return (0, i, 0, "") }
        for (i, prefix) in ["image_retrieval_recall@", "text_retrieval_recall@"].enumerated() where key.hasPrefix(prefix) {
            if let k = Int(key.dropFirst(prefix.count)) { return (1, k, i, "") }
        }
        return (2, 0, 0, key)
    }

    /// `value` as Python's `json.dumps` writes a float (repr; NaN, Infinity, -Infinity).
    static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        // Swift's description and Python's repr are both the shortest round-trip digits, with
        // exponents below 1e-4 and from 1e16, written alike ("1e-05", "1e+16").
        return value.description
    }

    /// `s` as Python's `json.dumps` (ensure_ascii) writes a string.
    static func pythonString(_ s: String) -> String {
        var out = "\""
        for u in s.utf16 {
            switch u {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(u)!)
            default:
                let hex = String(u, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }
}

extension Evaluation {
    /// The `model` of a result: the architecture's name. `named` (a preset, e.g. `--config`) when
    /// the config is that preset; else the first preset equal to the config (open_clip's names
    /// sort first), with `-quickgelu` when only QuickGELU differs, as open_clip names it; else a
    /// name built from the shape, `ViT-p{patch}-w{width}x{layers}-i{image}-e{embed}-t{width}x{layers}`.
    public static func modelName(_ config: CLIPConfig, named: String? = nil) -> String {
        if let named, CLIPConfig.presets[named] == config { return named }
        for name in CLIPConfig.presetNames where CLIPConfig.presets[name] == config { return name }
        var plain = config
        plain.quickGELU = false
        if config.quickGELU, let name = CLIPConfig.presetNames.first(where: { CLIPConfig.presets[$0] == plain }) {
            return name + "-quickgelu"
        }
        let v = config.vision, t = config.text
        return "ViT-p\(v.patchSize)-w\(v.width)x\(v.layers)-i\(v.imageSize)-e\(config.embedDim)-t\(t.width)x\(t.layers)"
            + (config.quickGELU ? "-quickgelu" : "")
    }
}

extension Ensemble {
    /// The `model` of a variant's results: its members' architecture (all experts' for the
    /// uniform and routed ensembles, '+'-joined should they differ).
    static func modelName(_ v: EnsembleVariant, _ w: MemberWeights, _ data: EnsembleTaskData, experts: Int) -> String {
        let used = v.kind == .uniform || v.kind == .routed ? Array(0..<experts) : w.weights.indices.filter { w.weights[$0] > 0 }
        var models: [String] = []
        for i in used where !models.contains(data.members[i].model) { models.append(data.members[i].model) }
        return models.joined(separator: "+")
    }
}
