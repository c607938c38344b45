import Foundation
import MoDEFormats

/// Sizes of one demo run (DIR/demo.json: a demo folder holds one size).
public struct DemoPlan: VersionedFile, Equatable, Sendable {
    public static let formatName = "demo plan (demo.json)"
    public static let formatVersion = 1

    public var pairs: Int
    public var tasksPerClass: Int
    public var fine: Int
    public var coarse: Int
    public var batch: Int
    public var seedSteps: Int
    public var expertSteps: Int
    public var warmup: Int
    public var lr: Double
    public var config: String
    public var oocRatio = 0.02

    /// Dense baseline: continues the seed for as many samples as the experts together.
    public var denseSteps: Int { coarse * expertSteps }

    public static let full = DemoPlan(pairs: 20_000, tasksPerClass: 50, fine: 256, coarse: 4, batch: 256,
                                      seedSteps: 320, expertSteps: 80, warmup: 20, lr: 1e-3, config: "tiny")
    public static let quick = DemoPlan(pairs: 4_000, tasksPerClass: 10, fine: 64, coarse: 4, batch: 128,
                                       seedSteps: 60, expertSteps: 15, warmup: 5, lr: 1e-3, config: "tiny")

    init(pairs: Int, tasksPerClass: Int, fine: Int, coarse: Int, batch: Int, seedSteps: Int, expertSteps: Int, warmup: Int,
         lr: Double, config: String) {
        self.pairs = pairs
        self.tasksPerClass = tasksPerClass
        self.fine = fine
        self.coarse = coarse
        self.batch = batch
        self.seedSteps = seedSteps
        self.expertSteps = expertSteps
        self.warmup = warmup
        self.lr = lr
        self.config = config
    }

    /// Checks the values a user can change.
    public func validate() throws {
        guard (1...64).contains(coarse) else { throw DemoError.invalid("--experts must lie in 1...64") }
        guard (0...1).contains(oocRatio) else { throw DemoError.invalid("--ooc-ratio must lie in [0, 1]") }
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", pairs, tasksPerClass, fine, coarse, batch, seedSteps, expertSteps, warmup, lr, config, oocRatio
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(pairs: try c.decode(Int.self, forKey: .pairs), tasksPerClass: try c.decode(Int.self, forKey: .tasksPerClass),
                  fine: try c.decode(Int.self, forKey: .fine), coarse: try c.decode(Int.self, forKey: .coarse),
                  batch: try c.decode(Int.self, forKey: .batch), seedSteps: try c.decode(Int.self, forKey: .seedSteps),
                  expertSteps: try c.decode(Int.self, forKey: .expertSteps), warmup: try c.decode(Int.self, forKey: .warmup),
                  lr: try c.decode(Double.self, forKey: .lr), config: try c.decode(String.self, forKey: .config))
        oocRatio = try c.decode(Double.self, forKey: .oocRatio)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encode(pairs, forKey: .pairs)
        try c.encode(tasksPerClass, forKey: .tasksPerClass)
        try c.encode(fine, forKey: .fine)
        try c.encode(coarse, forKey: .coarse)
        try c.encode(batch, forKey: .batch)
        try c.encode(seedSteps, forKey: .seedSteps)
        try c.encode(expertSteps, forKey: .expertSteps)
        try c.encode(warmup, forKey: .warmup)
        try c.encode(lr, forKey: .lr)
        try c.encode(config, forKey: .config)
        try c.encode(oocRatio, forKey: .oocRatio)
    }
}

/// A finished demo step (DIR/steps/NAME.json): its name, wall time and the `mode` arguments it ran.
public struct DemoStepRecord: VersionedFile, Equatable, Sendable {
    public static let formatName = "demo step record"
    public static let formatVersion = 1
    public var step: String
    public var seconds: Double
    public var arguments: [String]

    public init(step: String, seconds: Double, arguments: [String]) {
        self.step = step
        self.seconds = seconds
        self.arguments = arguments
    }

    enum CodingKeys: String, CodingKey { case formatVersion = "format_version", step, seconds, arguments }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(String.self, forKey: .step)
        seconds = try c.decode(Double.self, forKey: .seconds)
        arguments = try c.decode([String].self, forKey: .arguments)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encode(step, forKey: .step)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(arguments, forKey: .arguments)
    }
}

/// A demo that cannot run or whose step failed.
public enum DemoError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case stepFailed(String, status: Int32, log: String)

    public var description: String {
        switch self {
        case .invalid(let why): why
        case let .stepFailed(name, status, log):
            "demo step '\(name)' failed (exit status \(status)); its output is in \(log); rerun `mode demo` to continue from there"
        }
    }
}
