import Foundation
import MoDEFormats

/// The `.json` member of a synthetic training sample (img2dataset's fields, and for analysis
/// only the true domain, class and caption noise).
struct SynthSampleMetadata: Encodable {
    var caption: String
    var key: String
    var url: String
    var width: Int
    var height: Int
    var status = "success"
    var domain: String
    var `class`: String
    var noise: String
    /// For a shuffled caption: the key of the image it was written for.
    var captionOf: String?

    init(caption: String, key: String, url: String, width: Int, height: Int, domain: String, class: String, noise: String,
         captionOf: String?) {
        self.caption = caption
        self.key = key
        self.url = url
        self.width = width
        self.height = height
        self.domain = domain
        self.class = `class`
        self.noise = noise
        self.captionOf = captionOf
    }

    enum CodingKeys: String, CodingKey {
        case caption, key, url, width, height, status, domain, `class`, noise, captionOf = "caption_of"
    }
}

/// manifest.json of a synthetic corpus, written last: the settings, the training shards, the
/// domains and classes with their pair counts, caption noise counts and the zero-shot tasks.
public struct SynthManifest: VersionedFile, Equatable, Sendable {
    public static let formatName = "synthetic corpus manifest (manifest.json)"
    public static let formatVersion = 1

    public var generator = "mode synth"
    public var settings: Settings
    public var train: Train
    public var domains: [Domain]
    /// Captions per noise kind.
    public var captions: [String: Int]
    public var tasks: [Task]

    public struct Settings: Codable, Equatable, Sendable {
        public var seed: UInt64
        public var pairs: Int
        public var size: Int
        public var noise: Double
        public var junk: Double
        public var shardSize: Int
        public var tasksPerClass: Int
        public var pixelNoise: Double
        public var imageFormat: String
        public var domains: [String]
        public var weights: [Double]

        enum CodingKeys: String, CodingKey {
            case seed, pairs, size, noise, junk, shardSize = "shard_size", tasksPerClass = "tasks_per_class"
            case pixelNoise = "pixel_noise", imageFormat = "image_format", domains, weights
        }
    }

    public struct Train: Codable, Equatable, Sendable {
        public var shards: String
        public var shardCount: Int
        public var pairs: Int
        enum CodingKeys: String, CodingKey { case shards, shardCount = "shard_count", pairs }
    }

    public struct Domain: Codable, Equatable, Sendable {
        public struct Class: Codable, Equatable, Sendable {
            public var name: String
            public var terms: [String]
            public var pairs: Int
        }
        public var name: String
        public var coarseName: String
        public var pairs: Int
        public var classes: [Class]
        enum CodingKeys: String, CodingKey { case name, coarseName = "coarse_name", pairs, classes }
    }

    public struct Task: Codable, Equatable, Sendable {
        public var name: String
        /// clip_benchmark's task type.
        public var type: String
        public var classes: Int
        public var samples: Int
    }

    enum CodingKeys: String, CodingKey { case formatVersion = "format_version", generator, settings, train, domains, captions, tasks }

    init(settings: Settings, train: Train, domains: [Domain], captions: [String: Int], tasks: [Task]) {
        self.settings = settings
        self.train = train
        self.domains = domains
        self.captions = captions
        self.tasks = tasks
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        generator = try c.decode(String.self, forKey: .generator)
        settings = try c.decode(Settings.self, forKey: .settings)
        train = try c.decode(Train.self, forKey: .train)
        domains = try c.decode([Domain].self, forKey: .domains)
        captions = try c.decode([String: Int].self, forKey: .captions)
        tasks = try c.decode([Task].self, forKey: .tasks)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encode(generator, forKey: .generator)
        try c.encode(settings, forKey: .settings)
        try c.encode(train, forKey: .train)
        try c.encode(domains, forKey: .domains)
        try c.encode(captions, forKey: .captions)
        try c.encode(tasks, forKey: .tasks)
    }
}
