import Foundation

/// What one pass over a training stream read: samples used, samples skipped by reason (damaged
/// or unusable: see `SkipReason`), and samples left out on purpose by the stream's filter (an
/// expert's clusters), which are not damage.
public struct PassStats: Codable, Equatable, Sendable {
    public var pass: Int
    /// Whether the pass was read to its end.
    public var complete: Bool
    public var used: Int
    public var skipped: [String: Int]
    public var filtered: Int

    public init(pass: Int, complete: Bool = false, used: Int = 0, skipped: [String: Int] = [:], filtered: Int = 0) {
        self.pass = pass
        self.complete = complete
        self.used = used
        self.skipped = skipped
        self.filtered = filtered
    }

    /// Samples skipped, all reasons.
    public var skippedTotal: Int { skipped.values.reduce(0, +) }
    /// Samples read that were meant for training: used + skipped (filtered ones excluded).
    public var read: Int { used + skippedTotal }
    /// skipped / read (0 when nothing was read).
    public var skipFraction: Double { read == 0 ? 0 : Double(skippedTotal) / Double(read) }

    /// One line for people: "19,512 used, 488 skipped (2.44%): missing_caption 300, truncated 188; 50 filtered".
    public var summary: String {
        var s = "\(used) used, \(skippedTotal) skipped"
        if skippedTotal > 0 {
            s += String(format: " (%.2f%%): ", skipFraction * 100)
                + skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        if filtered > 0 { s += "; \(filtered) left out by the filter" }
        return s + (complete ? "" : " (pass in progress)")
    }

    enum CodingKeys: String, CodingKey {
        case pass, complete, used, skipped, filtered, read, skipFraction = "skip_fraction"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pass = try c.decode(Int.self, forKey: .pass)
        complete = try c.decode(Bool.self, forKey: .complete)
        used = try c.decode(Int.self, forKey: .used)
        skipped = try c.decode([String: Int].self, forKey: .skipped)
        filtered = try c.decode(Int.self, forKey: .filtered)
    }

    /// Writes the counts and, for readers, the derived `read` and `skip_fraction`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(pass, forKey: .pass)
        try c.encode(complete, forKey: .complete)
        try c.encode(used, forKey: .used)
        try c.encode(skipped, forKey: .skipped)
        try c.encode(filtered, forKey: .filtered)
        try c.encode(read, forKey: .read)
        try c.encode((skipFraction * 1e6).rounded() / 1e6, forKey: .skipFraction)
    }
}

/// A training stream's statistics so far: one `PassStats` per pass begun, in order.
public struct DataStats: Codable, Equatable, Sendable {
    public var passes: [PassStats]

    public init(passes: [PassStats] = []) { self.passes = passes }

    /// The sum over every pass (pass = the number of passes begun; complete when all are).
    public var total: PassStats {
        var t = PassStats(pass: passes.count, complete: passes.allSatisfy(\.complete))
        for p in passes {
            t.used += p.used
            t.filtered += p.filtered
            for (k, v) in p.skipped { t.skipped[k, default: 0] += v }
        }
        return t
    }
}
