import Foundation
import MoDEData
import MoDETensor
import MoDEFormats

/// Settings of a synthetic corpus (see `SynthCorpus.generate`).
public struct SynthConfig: Sendable, Equatable {
    /// Training image–caption pairs.
    public var pairs = 20_000
    /// Image side in pixels (images are square).
    public var size = 32
    public var seed: UInt64 = 0
    /// Fraction of training captions that belong to another image (shuffled within the shard).
    public var noise = 0.15
    /// Fraction of training captions that say nothing about the image ("image", "IMG_1234.JPG" …).
    public var junk = 0.05
    /// Pairs per training shard.
    public var shardSize = 1000
    /// Held-out images per class in each fine-grained and the mixed zero-shot task (the coarse
    /// domain task has twice as many per domain; the retrieval task ten times as many images).
    public var tasksPerClass = 50
    /// Domains to generate and their relative shares of the training pairs.
    public var domains: [SynthDomain] = SynthDomain.allCases
    public var weights: [Double] = SynthDomain.allCases.map(\.defaultWeight)
    /// Standard deviation of the Gaussian pixel noise, in 0...1 units.
    public var pixelNoise: Float = 0.015
    /// How images are stored (img2dataset's default: JPEG at quality 95).
    public var imageFormat: SynthImageFormat = .jpeg(quality: 95)

    public init() {}

    /// Sets `domains` and `weights` from "shapes:40,digits:25,…" (a domain without a weight
    /// takes its default weight).
    public mutating func setDomains(parsing text: String) throws {
        var domains: [SynthDomain] = [], weights: [Double] = []
        for part in text.split(separator: ",") {
            let fields = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let d = SynthDomain(rawValue: fields[0]) else {
                throw SynthError.invalid("unknown domain '\(fields[0])' (known: \(SynthDomain.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let w = fields.count > 1 ? Double(fields[1]) : d.defaultWeight
            guard let w, w > 0 else { throw SynthError.invalid("domain weight must be a positive number in '\(part)'") }
            domains.append(d)
            weights.append(w)
        }
        self.domains = domains
        self.weights = weights
    }

    /// Throws `SynthError.invalid` naming the first unusable setting.
    public func validate() throws {
        func bad(_ s: String) -> SynthError { .invalid(s) }
        guard pairs > 0 else { throw bad("pairs must be positive") }
        guard (8...1024).contains(size) else { throw bad("size must be 8...1024 pixels") }
        guard noise >= 0, junk >= 0, noise + junk <= 1 else { throw bad("noise and junk must be fractions with noise + junk <= 1") }
        guard shardSize > 0 else { throw bad("shard size must be positive") }
        guard tasksPerClass >= 0 else { throw bad("tasks per class must not be negative") }
        guard !domains.isEmpty, Set(domains).count == domains.count else { throw bad("domains must be a non-empty list without repeats") }
        guard weights.count == domains.count, weights.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw bad("every domain needs one positive weight")
        }
        guard pixelNoise >= 0, pixelNoise < 1 else { throw bad("pixel noise must be in 0..<1") }
        if case .jpeg(let q) = imageFormat, !(1...100).contains(q) { throw bad("JPEG quality must be 1...100") }
    }
}

/// A failure of `SynthCorpus.generate` caused by its inputs.
public enum SynthError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case notEmpty(String)
    case notADirectory(String)

    public var description: String {
        switch self {
        case .invalid(let why): return "invalid synthetic corpus settings: \(why)"
        case .notEmpty(let dir): return "\(dir) is not empty (pass --force to replace the corpus in it)"
        case .notADirectory(let p): return "\(p) exists and is not a folder"
        }
    }
}

/// Whether a training caption describes its own image.
public enum CaptionNoise: String, Sendable, Codable, CaseIterable {
    /// The caption was written for this image.
    case none
    /// The caption was written for another image of the same shard (named by `caption_of`).
    case shuffled
    /// The caption says nothing about any image.
    case uninformative
}

/// What `SynthCorpus.generate` wrote.
public struct SynthSummary: Sendable {
    /// What was written, for people: shard count, pairs per domain, caption noise and tasks.
    public var report: String {
        var lines = ["wrote \(domains.reduce(0) { $0 + $1.pairs }) pairs in \(shards.count) shards: \(directory)/\(shardSpec)"]
        for d in domains { lines.append("  \(d.domain.rawValue): \(d.pairs) pairs, \(d.perClass.count) classes") }
        lines.append("captions: " + CaptionNoise.allCases.map { "\($0.rawValue) \(captions[$0] ?? 0)" }.joined(separator: ", "))
        lines.append("tasks: " + tasks.map { "\($0.name) (\($0.samples))" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    public struct DomainCount: Sendable { public var domain: SynthDomain; public var pairs: Int; public var perClass: [Int] }
    public struct Task: Sendable { public var name: String; public var kind: BenchmarkTask.Kind; public var classes: Int; public var samples: Int }
    public var directory: String
    /// Training shard paths, in order.
    public var shards: [String]
    /// The shard specification in brace notation, relative to the corpus folder.
    public var shardSpec: String
    public var domains: [DomainCount]
    public var captions: [CaptionNoise: Int]
    public var tasks: [Task]
}

/// How synthetic images are stored.
public enum SynthImageFormat: Sendable, Equatable {
    /// Baseline JPEG at the given quality (1–100), as web crawls store images.
    case jpeg(quality: Int)
    /// Lossless PNG.
    case png

    /// The WebDataset member extension.
    public var ext: String {
        switch self {
        case .jpeg: return "jpg"
        case .png: return "png"
        }
    }

    /// Encodes an image.
    func encode(_ image: RGBImage) -> [UInt8] {
        switch self {
        case .jpeg(let q): return encodeJPEG(image, quality: q)
        case .png: return encodePNG(image)
        }
    }
}

/// A value shared between threads, guarded by a lock.
final class Locked<Value>: @unchecked Sendable {
    private var _value: Value
    private let lock = NSLock()
    init(_ v: Value) { _value = v }
    var value: Value { lock.lock(); defer { lock.unlock() }; return _value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(&_value)
    }
}

/// Counts finished images across threads and reports them one call at a time.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    let total: Int
    let report: (@Sendable (Int, Int) -> Void)?
    init(total: Int, report: (@Sendable (Int, Int) -> Void)?) { self.total = total; self.report = report }
    func add(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        done += n
        report?(done, total)
    }
}
