import Foundation
import MoDEClustering
import MoDEFormats

/// clusters.json of a cluster folder: what was clustered and how, and the sizes that came out.
/// `mode cluster --split` starts from it (the options and fit sizes of the clustering it splits).
public struct ClusteringSummary: VersionedFile, Equatable, Sendable {
    public static let formatName = "clustering summary (clusters.json)"
    public static let formatVersion = 1

    // What was clustered.
    /// The feature folder, and the caption encoder and pooling that made it.
    public var features: String?
    public var model: String?
    public var pooling: String?
    /// Feature rows and files in the folder.
    public var featureRows: Int?
    public var featureFiles: Int?
    /// Rows the fine step was fitted on, and whether they were streamed from the files.
    public var sampleRows: Int
    public var streamed: Bool
    public var options: ClusterOptions
    /// Points per fine centre at the end of the fine fit, and its objective.
    public var fineFitSizes: [Double]?
    public var fineObjective: Double?
    /// Set when this clustering splits a coarse cluster of another.
    public var split: Split?
    /// Warnings about the fit (too few sampled rows per fine centre).
    public var warnings: [String]

    // What came out.
    public var fine: Int
    public var coarse: Int
    public var dimension: Int
    public var metric: Metric
    public var finePerCoarse: [Int]
    public var fineToCoarse: [Int]
    /// Sampled rows nearest to each fine centre and per coarse cluster (as `mode assign` assigns).
    public var samplePerFine: [Int]?
    public var samplePerCoarse: [Int]?

    /// A split: the clustering it came from, the coarse cluster split, into how many parts, and
    /// the ids of the parts (the first keeps the old id).
    public struct Split: Codable, Equatable, Sendable {
        public var from: String
        public var cluster: Int
        public var parts: Int
        public var newIds: [Int]

        enum CodingKeys: String, CodingKey { case from, cluster, parts, newIds = "new_ids" }
    }

    /// max / min of `samplePerCoarse` (nil without sample counts or with an empty cluster).
    public var coarseSizeMaxOverMin: Double? {
        guard let s = samplePerCoarse, let lo = s.min(), let hi = s.max(), lo > 0 else { return nil }
        return Double(hi) / Double(lo)
    }

    /// Fills the size fields from `hierarchy` and `samplePerFine`.
    public mutating func setSizes(_ hierarchy: ClusterHierarchy, samplePerFine: [Int]?) {
        fine = hierarchy.fineCount
        coarse = hierarchy.coarseCount
        dimension = hierarchy.dimension
        metric = hierarchy.metric
        finePerCoarse = [Int](repeating: 0, count: coarse)
        for c in hierarchy.fineToCoarse { finePerCoarse[Int(c)] += 1 }
        fineToCoarse = hierarchy.fineToCoarse.map(Int.init)
        self.samplePerFine = samplePerFine
        samplePerCoarse = samplePerFine.map { perFine in
            var s = [Int](repeating: 0, count: coarse)
            for (f, c) in hierarchy.fineToCoarse.enumerated() { s[Int(c)] += perFine[f] }
            return s
        }
    }

    /// A summary with what was clustered; `setSizes` fills the results.
    public init(features: String?, model: String?, pooling: String?, featureRows: Int?, featureFiles: Int?, sampleRows: Int,
                streamed: Bool, options: ClusterOptions, fineFitSizes: [Double]?, fineObjective: Double?, warnings: [String] = []) {
        self.features = features
        self.model = model
        self.pooling = pooling
        self.featureRows = featureRows
        self.featureFiles = featureFiles
        self.sampleRows = sampleRows
        self.streamed = streamed
        self.options = options
        self.fineFitSizes = fineFitSizes
        self.fineObjective = fineObjective
        self.warnings = warnings
        fine = 0
        coarse = 0
        dimension = 0
        metric = options.metric
        finePerCoarse = []
        fineToCoarse = []
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", features, model, pooling, featureRows = "feature_rows", featureFiles = "feature_files"
        case sampleRows = "sample_rows", streamed, options, fineFitSizes = "fine_fit_sizes", fineObjective = "fine_objective", split, warnings
        case fine, coarse, dimension, metric, finePerCoarse = "fine_per_coarse", fineToCoarse = "fine_to_coarse"
        case samplePerFine = "sample_per_fine", samplePerCoarse = "sample_per_coarse", coarseSizeMaxOverMin = "coarse_size_max_over_min"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        features = try c.decodeIfPresent(String.self, forKey: .features)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        pooling = try c.decodeIfPresent(String.self, forKey: .pooling)
        featureRows = try c.decodeIfPresent(Int.self, forKey: .featureRows)
        featureFiles = try c.decodeIfPresent(Int.self, forKey: .featureFiles)
        sampleRows = try c.decode(Int.self, forKey: .sampleRows)
        streamed = try c.decode(Bool.self, forKey: .streamed)
        options = try c.decode(ClusterOptions.self, forKey: .options)
        fineFitSizes = try c.decodeIfPresent([Double].self, forKey: .fineFitSizes)
        fineObjective = try c.decodeIfPresent(Double.self, forKey: .fineObjective)
        split = try c.decodeIfPresent(Split.self, forKey: .split)
        warnings = try c.decodeIfPresent([String].self, forKey: .warnings) ?? []
        fine = try c.decode(Int.self, forKey: .fine)
        coarse = try c.decode(Int.self, forKey: .coarse)
        dimension = try c.decode(Int.self, forKey: .dimension)
        metric = try c.decode(Metric.self, forKey: .metric)
        finePerCoarse = try c.decode([Int].self, forKey: .finePerCoarse)
        fineToCoarse = try c.decode([Int].self, forKey: .fineToCoarse)
        samplePerFine = try c.decodeIfPresent([Int].self, forKey: .samplePerFine)
        samplePerCoarse = try c.decodeIfPresent([Int].self, forKey: .samplePerCoarse)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encodeIfPresent(features, forKey: .features)
        try c.encodeIfPresent(model, forKey: .model)
        try c.encodeIfPresent(pooling, forKey: .pooling)
        try c.encodeIfPresent(featureRows, forKey: .featureRows)
        try c.encodeIfPresent(featureFiles, forKey: .featureFiles)
        try c.encode(sampleRows, forKey: .sampleRows)
        try c.encode(streamed, forKey: .streamed)
        try c.encode(options, forKey: .options)
        try c.encodeIfPresent(fineFitSizes, forKey: .fineFitSizes)
        try c.encodeIfPresent(fineObjective, forKey: .fineObjective)
        try c.encodeIfPresent(split, forKey: .split)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(fine, forKey: .fine)
        try c.encode(coarse, forKey: .coarse)
        try c.encode(dimension, forKey: .dimension)
        try c.encode(metric, forKey: .metric)
        try c.encode(finePerCoarse, forKey: .finePerCoarse)
        try c.encode(fineToCoarse, forKey: .fineToCoarse)
        try c.encodeIfPresent(samplePerFine, forKey: .samplePerFine)
        try c.encodeIfPresent(samplePerCoarse, forKey: .samplePerCoarse)
        try c.encodeIfPresent(coarseSizeMaxOverMin, forKey: .coarseSizeMaxOverMin)
    }
}

extension ClusterOptions: Codable {
    enum CodingKeys: String, CodingKey {
        case fine, coarse, sample, iterations, coarseIterations = "coarse_iterations", metric, seed, tolerance
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        fine = try c.decode(Int.self, forKey: .fine)
        coarse = try c.decode(Int.self, forKey: .coarse)
        sample = try c.decode(SampleSize.self, forKey: .sample)
        iterations = try c.decode(Int.self, forKey: .iterations)
        coarseIterations = try c.decode(Int.self, forKey: .coarseIterations)
        metric = try c.decode(Metric.self, forKey: .metric)
        seed = try c.decode(UInt64.self, forKey: .seed)
        tolerance = try c.decode(Double.self, forKey: .tolerance)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fine, forKey: .fine)
        try c.encode(coarse, forKey: .coarse)
        try c.encode(sample, forKey: .sample)
        try c.encode(iterations, forKey: .iterations)
        try c.encode(coarseIterations, forKey: .coarseIterations)
        try c.encode(metric, forKey: .metric)
        try c.encode(seed, forKey: .seed)
        try c.encode(tolerance, forKey: .tolerance)
    }
}

/// `options.sample` of clusters.json: "auto", the fraction, or the row count, as on the command line.
extension SampleSize: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            self = try SampleSize(parsing: s)
        } else if let n = try? c.decode(Int.self) {
            self = n == 1 ? .fraction(1) : .rows(n)
        } else {
            self = .fraction(try c.decode(Double.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .automatic: try c.encode("auto")
        case .fraction(let x): try c.encode(x)
        case .rows(let n): try c.encode(n)
        }
    }
}
