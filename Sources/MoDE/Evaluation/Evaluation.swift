import MoDEData
import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import MoDETokenizers
import MoDEFormats

/// One task's result. Its file (`clipBenchmarkJSON`, named `fileName`) holds exactly what
/// `clip_benchmark eval` writes: dataset, model, pretrained, task, metrics, language.
/// `samples` and `skipped` are not part of it (the summary files carry them).
public struct TaskResult: Codable, Sendable {
    public var dataset: String
    /// The architecture (see `Evaluation.modelName`).
    public var model: String
    /// The weights: `mode eval`'s checkpoint as given; in an ensemble report, the variant.
    public var pretrained: String
    public var task: String
    public var metrics: [String: Double]
    public var language = "en"
    /// Images evaluated, and samples skipped by reason (undecodable images, bad labels…).
    public var samples = 0
    public var skipped: [String: Int] = [:]

    enum CodingKeys: String, CodingKey { case dataset, model, pretrained, task, metrics, language }

    public init(dataset: String, model: String, pretrained: String, task: String, metrics: [String: Double],
                samples: Int = 0, skipped: [String: Int] = [:], language: String = "en") {
        self.dataset = dataset; self.model = model; self.pretrained = pretrained; self.task = task
        self.metrics = metrics; self.samples = samples; self.skipped = skipped; self.language = language
    }
}

/// Zero-shot evaluation of a CLIP model on clip_benchmark task folders.
public enum Evaluation {
    /// L2-normalised image features (n, E) of `images` (encoded bytes) with the eval transform;
    /// returns the features, the indices that decoded, and skip counts.
    public static func imageFeatures(model: CLIPModel, images: [[UInt8]], batch: Int,
                                     progress: ((Int) -> Void)? = nil) -> (features: Tensor, kept: [Int], skipped: [String: Int]) {
        let s = model.config.vision.imageSize, e = model.embedDim, per = 3 * s * s
        let pre = CLIPPreprocessor(size: s)
        var kept: [Int] = []
        var skipped: [String: Int] = [:]
        var rows: [Float] = []
        let buffer = Tensor(shape: [batch, 3, s, s])
        var inBatch: [Int] = []
        var out = [Float]()
        func flush() {
            guard !inBatch.isEmpty else { return }
            let f = Tensor(shape: [inBatch.count, e])
            model.encodeImage(f.data, buffer.data, batch: inBatch.count)
            out += f.array
            kept += inBatch
            inBatch = []
            progress?(kept.count)
        }
        for (i, bytes) in images.enumerated() {
            do {
                let img = try decodeImage(bytes)
                pre.eval(buffer.data + inBatch.count * per, img)
                inBatch.append(i)
                if inBatch.count == batch { flush() }
            } catch let e as ImageError {
                skipped[e.skipReason.rawValue, default: 0] += 1
            } catch {
                skipped[SkipReason.undecodableImage.rawValue, default: 0] += 1
            }
        }
        flush()
        rows = out
        let t = Tensor(shape: [kept.count, e])
        if !kept.isEmpty {
            rows.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: rows.count) }
            let norms = Tensor(shape: [kept.count])
            L2Normalize.forward(t.data, norms.data, t.data, rows: kept.count, cols: e)
        }
        return (t, kept, skipped)
    }

    /// Evaluates `task`: classification → acc1, acc5, mean_per_class_recall; retrieval →
    /// image_retrieval_recall@k and text_retrieval_recall@k for k = 1, 5, 10. `modelName` and
    /// `pretrained` become the result's model and pretrained.
    public static func evaluate(model: CLIPModel, tokenizer: CLIPTokenizer, task: BenchmarkTask, modelName: String, pretrained: String,
                                batch: Int = 64, progress: ((Int, Int) -> Void)? = nil) throws -> TaskResult {
        let (samples, stats) = try task.samples()
        var skipped: [String: Int] = [:]
        for st in stats { for (k, v) in st.skipped { skipped[k, default: 0] += v } }
        let (features, kept, imageSkips) = imageFeatures(model: model, images: samples.map(\.image), batch: batch) {
            progress?($0, samples.count)
        }
        for (k, v) in imageSkips { skipped[k, default: 0] += v }
        guard !kept.isEmpty else { throw DataError.invalid(task.directory, "no image of the task could be decoded") }
        let n = kept.count, e = model.embedDim
        var metrics: [String: Double] = [:]
        switch task.kind {
        case .classification:
            let classifier = ZeroShotClassifier(model: model, tokenizer: tokenizer, classNames: task.classnames, templates: task.templates)
            let c = task.classnames.count
            let logits = Tensor(shape: [n, c])
            let labels = kept.map { samples[$0].label! }
            Matmul.gemm(logits.data, features.data, classifier.weights.data, m: n, n: c, k: e, transB: true, alpha: ZeroShotClassifier.logitScale)
            metrics = classificationMetrics(logits: logits.data, labels: labels, classes: c)
        case .retrieval:
            var captions: [String] = []
            var owner: [Int] = []  // caption → image row
            for (row, i) in kept.enumerated() {
                for cap in samples[i].captions { captions.append(cap); owner.append(row) }
            }
            let t = CLIPTextEncoder(tokenizer: tokenizer, model: model).features(captions, model: model, batch: batch, normalise: true)
            metrics = retrievalRecalls(images: features.data, texts: t.data, imageCount: n, owner: owner, dim: e)
        }
        return TaskResult(dataset: task.name, model: modelName, pretrained: pretrained, task: task.kind.rawValue, metrics: metrics,
                          samples: n, skipped: skipped)
    }

    /// clip_benchmark's classification metrics (acc1, acc5, mean_per_class_recall) of logits
    /// (n, classes); acc5 is NaN with fewer than 5 classes, as clip_benchmark reports it.
    public static func classificationMetrics(logits: UnsafePointer<Float>, labels: [Int], classes c: Int) -> [String: Double] {
        ["acc1": ZeroShotMetrics.topKAccuracy(logits: logits, labels: labels, classes: c, k: 1),
         "acc5": c >= 5 ? ZeroShotMetrics.topKAccuracy(logits: logits, labels: labels, classes: c, k: 5) : .nan,
         "mean_per_class_recall": ZeroShotMetrics.meanPerClassRecall(logits: logits, labels: labels, classes: c)]
    }

    /// clip_benchmark's retrieval recalls from normalised features: image_retrieval_recall@k (each
    /// text finds its image among the top k images) and text_retrieval_recall@k (each image finds
    /// one of its texts among the top k texts). `owner[t]` is text t's image row.
    public static func retrievalRecalls(images: UnsafePointer<Float>, texts: UnsafePointer<Float>, imageCount n: Int,
                                        owner: [Int], dim e: Int, ks: [Int] = [1, 5, 10]) -> [String: Double] {
        let m = owner.count
        let scores = Tensor(shape: [m, n])  // text × image
        Matmul.gemm(scores.data, texts, images, m: m, n: n, k: e, transB: true)
        return retrievalRecalls(imageRetrieval: scores.data, textRetrieval: scores.data, imageCount: n, owner: owner, ks: ks)
    }

    /// clip_benchmark's retrieval recalls from score matrices (texts m, images n), which may differ
    /// by direction (ensembles route each direction differently): row t of `imageRetrieval`
    /// (m, n) scores text query t against every image (image_retrieval_recall@k: its image is
    /// among the top k); column i of `textRetrieval` (m, n) scores image query i against every
    /// text (text_retrieval_recall@k: one of its texts is among the top k). Ties count in the
    /// query's favour. `owner[t]` is text t's image row.
    public static func retrievalRecalls(imageRetrieval: UnsafePointer<Float>, textRetrieval: UnsafePointer<Float>,
                                        imageCount n: Int, owner: [Int], ks: [Int] = [1, 5, 10]) -> [String: Double] {
        let m = owner.count
        // Rank (entries strictly better) of each text query's image, and of each image query's best text.
        var textRank = [Int](repeating: 0, count: m)
        var imageRank = [Int](repeating: Int.max, count: n)
        var textsOf = [[Int]](repeating: [], count: n)
        for (t, i) in owner.enumerated() { textsOf[i].append(t) }
        textRank.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            Parallel.forEach(m, grain: 64) { r in
                for t in r {
                    let row = imageRetrieval + t * n
                    let target = row[owner[t]]
                    var better = 0
                    for j in 0..<n where row[j] > target { better += 1 }
                    out[t] = better
                }
            }
        }
        imageRank.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            Parallel.forEach(n, grain: 8) { r in
                let column = UnsafeMutablePointer<Float>.allocate(capacity: max(m, 1))
                defer { column.deallocate() }
                for i in r where !textsOf[i].isEmpty {
                    for u in 0..<m { column[u] = textRetrieval[u * n + i] }
                    var best = Int.max
                    for t in textsOf[i] {
                        let s = column[t]
                        var better = 0
                        for u in 0..<m where column[u] > s { better += 1 }
                        best = min(best, better)
                    }
                    out[i] = best
                }
            }
        }
        var metrics: [String: Double] = [:]
        for k in ks {
            let hits = textRank.reduce(0) { $0 + ($1 < k ? 1 : 0) }
            let imageHits = imageRank.reduce(0) { $0 + ($1 < k ? 1 : 0) }
            metrics["image_retrieval_recall@\(k)"] = m == 0 ? 0 : Double(hits) / Double(m)
            metrics["text_retrieval_recall@\(k)"] = n == 0 ? 0 : Double(imageHits) / Double(n)
        }
        return metrics
    }

    /// Writes into `out` (atomically) clip_benchmark's result file of every task
    /// (`TaskResult.fileName`), summary.csv and summary.md (samples and metrics per task; acc5
    /// undefined: nan, –) and skipped.csv (`TaskResult.skippedCSV`). Only the result files end
    /// in .json, so `clip_benchmark build OUT` reads exactly them.
    public static func writeReport(_ results: [TaskResult], to out: String) throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for r in results {
            try AtomicFile.write(r.clipBenchmarkJSON(), to: (out as NSString).appendingPathComponent(r.fileName))
        }
        let order = ["acc1", "acc5", "mean_per_class_recall"]
        let keys = Array(Set(results.flatMap { $0.metrics.keys })).sorted { a, b in
            func rank(_ k: String) -> (Int, String, Int) {
                if let i = order.firstIndex(of: k) { return (i, "", 0) }
                let parts = k.split(separator: "@")
                return (order.count, String(parts[0]), Int(parts.last ?? "") ?? 0)
            }
            return rank(a) < rank(b)
        }
        var csv = CSVWriter()
        csv.row(["dataset", "task", "samples"] + keys)
        var md = "| dataset | task | samples | " + keys.joined(separator: " | ") + " |\n"
        md += "| --- | --- | ---: |" + String(repeating: " ---: |", count: keys.count) + "\n"
        for r in results {
            let vals = keys.map { r.metrics[$0].map { $0.isFinite ? String(format: "%.4f", $0) : "nan" } ?? "" }
            csv.row([r.dataset, r.task, String(r.samples)] + vals)
            md += "| \(r.dataset) | \(r.task) | \(r.samples) | " + vals.map { $0.isEmpty || $0 == "nan" ? "–" : $0 }.joined(separator: " | ") + " |\n"
        }
        try AtomicFile.write(Data(csv.text.utf8), to: (out as NSString).appendingPathComponent("summary.csv"))
        try AtomicFile.write(Data(md.utf8), to: (out as NSString).appendingPathComponent("summary.md"))
        try AtomicFile.write(Data(TaskResult.skippedCSV(results.map { ($0.dataset, $0.skipped) }).utf8),
                             to: (out as NSString).appendingPathComponent(TaskResult.skippedFile))
    }
}
