import Foundation

/// A zero-shot evaluation task in clip_benchmark's WebDataset layout:
/// `TASK/classnames.txt`, `TASK/zeroshot_classification_templates.txt` (lines with `{c}`),
/// `TASK/test/nshards.txt`, `TASK/test/0.tar` … holding `KEY.{png,jpg,jpeg,webp}` + `KEY.cls`;
/// retrieval tasks have `dataset_type.txt` = `retrieval` and `KEY.txt` with one caption per line.
public struct BenchmarkTask: Sendable {
    public enum Kind: String, Sendable, Codable { case classification = "zeroshot_classification", retrieval = "zeroshot_retrieval" }

    public var name: String
    public var directory: String
    public var kind: Kind
    /// Class names (classification; empty for retrieval).
    public var classnames: [String]
    /// Prompt templates containing `{c}` (classification).
    public var templates: [String]
    public var shards: [String]

    /// Reads the task description in `directory` (the task's name is the folder's name).
    public static func load(directory: String, split: String = "test") throws -> BenchmarkTask {
        let fm = FileManager.default
        let name = (directory as NSString).lastPathComponent
        func read(_ file: String) throws -> String? {
            let p = (directory as NSString).appendingPathComponent(file)
            guard fm.fileExists(atPath: p) else { return nil }
            guard let d = fm.contents(atPath: p), let s = String(data: d, encoding: .utf8) else {
                throw DataError.invalid(p, "not readable UTF-8 text")
            }
            return s
        }
        func lines(_ s: String) -> [String] {
            s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let type = try read("dataset_type.txt")?.trimmingCharacters(in: .whitespacesAndNewlines)
        let kind: Kind = type == "retrieval" ? .retrieval : .classification
        var classnames: [String] = []
        var templates: [String] = []
        if kind == .classification {
            guard let c = try read("classnames.txt") else {
                throw DataError.invalid(directory, "task folder has no classnames.txt (and dataset_type.txt does not say retrieval)")
            }
            classnames = lines(c)
            guard !classnames.isEmpty else { throw DataError.invalid(directory + "/classnames.txt", "no class names") }
            if let t = try read("zeroshot_classification_templates.txt") {
                templates = lines(t)
                if let bad = templates.first(where: { !$0.contains("{c}") }) {
                    throw DataError.invalid(directory + "/zeroshot_classification_templates.txt", "template without {c}: \(bad)")
                }
            }
            if templates.isEmpty { templates = ["a photo of a {c}."] }
        }
        let splitDir = (directory as NSString).appendingPathComponent(split)
        let nshardsPath = (splitDir as NSString).appendingPathComponent("nshards.txt")
        var shards: [String] = []
        if let d = fm.contents(atPath: nshardsPath) {
            guard let n = Int(String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), n > 0 else {
                throw DataError.invalid(nshardsPath, "expected a positive shard count")
            }
            shards = (0..<n).map { (splitDir as NSString).appendingPathComponent("\($0).tar") }
            if let missing = shards.first(where: { !fm.fileExists(atPath: $0) }) {
                throw DataError.unreadable(missing, "listed by nshards.txt but missing")
            }
        } else {
            let files = (try? fm.contentsOfDirectory(atPath: splitDir)) ?? []
            shards = files.filter { $0.hasSuffix(".tar") }.sorted { a, b in
                (Int(a.dropLast(4)) ?? Int.max, a) < (Int(b.dropLast(4)) ?? Int.max, b)
            }.map { (splitDir as NSString).appendingPathComponent($0) }
        }
        guard !shards.isEmpty else { throw DataError.invalid(directory, "no \(split)/*.tar shards (and no \(split)/nshards.txt)") }
        return BenchmarkTask(name: name, directory: directory, kind: kind, classnames: classnames, templates: templates, shards: shards)
    }

    /// Every task in `root` (sub-folders that look like tasks), sorted by name; `root` itself when
    /// it is a task. Throws when there is none.
    public static func discover(_ root: String, only: String? = nil) throws -> [BenchmarkTask] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw DataError.unreadable(root, "no such task folder")
        }
        func looksLikeTask(_ d: String) -> Bool {
            ["classnames.txt", "dataset_type.txt", "test"].contains { fm.fileExists(atPath: (d as NSString).appendingPathComponent($0)) }
        }
        if looksLikeTask(root) && only == nil { return [try load(directory: root)] }
        let subs = try fm.contentsOfDirectory(atPath: root).sorted().map { (root as NSString).appendingPathComponent($0) }
            .filter { looksLikeTask($0) && (only == nil || ($0 as NSString).lastPathComponent == only) }
        guard !subs.isEmpty else {
            throw DataError.invalid(root, only.map { "no task named \($0)" } ?? "no task folders (expected classnames.txt or dataset_type.txt and test/)")
        }
        return try subs.map { try load(directory: $0) }
    }
}

/// One evaluation sample: image bytes and a class label (classification) or captions (retrieval).
public struct TaskSample: Sendable {
    public var key: String
    public var imageExt: String
    public var image: [UInt8]
    public var label: Int?
    public var captions: [String]
}

extension BenchmarkTask {
    /// Reads every usable sample of the task, in shard order, and the per-shard counts (samples
    /// without an image, or with a missing/invalid label or captions, are skipped and counted).
    public func samples() throws -> (samples: [TaskSample], stats: [ShardStats]) {
        var out: [TaskSample] = []
        var stats: [ShardStats] = []
        for shard in shards {
            let r = try ShardReader(path: shard)
            var extra = ShardStats(shard: shard)
            while let s = r.next() {
                guard let (ext, bytes) = sampleImage(s) else { extra.skip(SkipReason.missingImage.rawValue); continue }
                switch kind {
                case .classification:
                    guard let c = s.fields["cls"], let text = String(validatingUTF8Bytes: c),
                          let label = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                          label >= 0, label < classnames.count else {
                        extra.skip(SkipReason.missingClass.rawValue); continue
                    }
                    out.append(TaskSample(key: s.key, imageExt: ext, image: bytes, label: label, captions: []))
                case .retrieval:
                    guard let t = s.fields["txt"], let text = String(validatingUTF8Bytes: t) else {
                        extra.skip(SkipReason.missingCaption.rawValue); continue
                    }
                    let caps = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                    guard !caps.isEmpty else { extra.skip(SkipReason.emptyCaption.rawValue); continue }
                    out.append(TaskSample(key: s.key, imageExt: ext, image: bytes, label: nil, captions: caps))
                }
            }
            var st = r.stats
            for (k, v) in extra.skipped { st.skip(k, v) }
            stats.append(st)
        }
        if out.isEmpty { throw DataError.invalid(directory, "task has no usable samples") }
        return (out, stats)
    }
}
