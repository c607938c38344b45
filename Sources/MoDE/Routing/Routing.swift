import MoDEClustering
import MoDEData
import Foundation
import MoDEModels
import MoDETensor

/// How ensemble weights are computed from a task's metadata (mode-method.md §5).
public enum RoutingMethod: String, CaseIterable, Codable, Sendable {
    /// The paper (eq. 4–6): p(c|T) ∝ exp(Σ_l A_{l,s*(l)} [s*(l) ∈ S_c]), A = exp(−‖e_l − e_s‖² / λ),
    /// with A × exp(0.5 − √|L|) when |L| < 10 and λ / ln|L| when |L| > 200.
    case paper
    /// The reference code (post_report_ensemble.py): w_c = Σ exp((a − d_l)·scale·log10(max(10, |L| − 200)))
    /// over classes in c, d unsquared, a = exp(0.5 − √|L|) when |L| < 10 else 0; p = softmax(w / T).
    case reference
    /// Every expert weighted 1 / E.
    case uniform
}

/// Routing settings; the defaults are the paper's and the reference code's constants.
public struct RoutingOptions: Sendable, Codable, Equatable {
    public var method: RoutingMethod = .paper
    /// The paper's temperature λ (before the |L| > 200 division by ln|L|).
    public var lambda: Double = 0.2
    /// Reference variant: the exponent is (a − d)·scale·log10(max(10, |L| − 200)).
    public var referenceScale: Double = 5
    /// Reference variant: p = softmax(w / T).
    public var referenceTemperature: Double = 8
    /// Unit-normalise the fine centres before distances (off by default: the method uses the
    /// centres as they are, which k-means leaves shorter than 1).
    public var renormaliseCentres = false

    public init(method: RoutingMethod = .paper) { self.method = method }

    /// Checks the values a user can get wrong.
    public func validate() throws {
        guard lambda > 0, lambda.isFinite else { throw RoutingError.invalidOption("λ must be a positive number, got \(lambda)") }
        guard referenceScale.isFinite else { throw RoutingError.invalidOption("the reference scale must be finite, got \(referenceScale)") }
        guard referenceTemperature > 0, referenceTemperature.isFinite else {
            throw RoutingError.invalidOption("the reference temperature must be a positive number, got \(referenceTemperature)")
        }
    }
}

/// The weights for one task and how they came about.
public struct RoutingDecision: Sendable, Codable, Equatable {
    /// One per expert, each ≥ 0, summing to 1.
    public var weights: [Double]
    /// Per class (or query): s*(l), the nearest of ALL fine centres of the clusters file.
    public var nearestFine: [Int32]
    /// Per class: the distance to s*(l) — squared for `.paper` and `.uniform`, unsquared
    /// (Euclidean) for `.reference`, as each method uses it.
    public var distances: [Double]
    /// Per class: the first (lowest-index) expert covering s*(l), or −1 when no expert covers it
    /// (that class then contributes to no expert's score).
    public var expertOfClass: [Int]
}

/// A routing input or option that cannot be used.
public enum RoutingError: Error, CustomStringConvertible, Equatable {
    /// A tensor with the wrong rank or size; `what` names it.
    case badShape(what: String, expected: String, actual: [Int])
    /// An option or expert list that cannot be used.
    case invalidOption(String)
    /// A row of `what` holds NaN or ∞.
    case nonFinite(what: String, row: Int)

    public var description: String {
        switch self {
        case let .badShape(what, expected, actual): return "\(what): expected shape \(expected), got \(actual)"
        case let .invalidOption(message): return message
        case let .nonFinite(what, row): return "\(what) row \(row) holds a NaN or infinite value"
        }
    }
}

/// Routes tasks to data experts: finds each class embedding's nearest fine centre s*(l) among all
/// fine centres, and scores every expert by the classes whose s*(l) it covers. Experts may cover
/// overlapping sets of fine centres (a class then counts for each of them); a class whose s*(l)
/// no expert covers contributes to none.
public struct Router: Sendable {
    /// The routing centres (m, D), unit-normalised when `options.renormaliseCentres`.
    public let centres: Tensor
    /// expertFine[e]: fine centres covered by expert e.
    public let expertFine: [[Int32]]
    public let options: RoutingOptions
    /// coveredBy[s]: experts covering fine centre s, ascending.
    let coveredBy: [[Int]]
    /// ‖c_s‖² (m), Float, for the candidate search.
    let centreNorms: Tensor

    /// Number of experts E.
    public var expertCount: Int { expertFine.count }
    /// Number of fine centres m.
    public var fineCount: Int { centres.shape[0] }
    /// Embedding width D.
    public var dimension: Int { centres.shape[1] }

    /// fineCentres (m, D); expertFine[e] = fine centres covered by expert e (may overlap after splits).
    public init(fineCentres: Tensor, expertFine: [[Int32]], options: RoutingOptions) throws {
        try options.validate()
        guard fineCentres.rank == 2, fineCentres.shape[0] >= 1, fineCentres.shape[1] >= 1 else {
            throw RoutingError.badShape(what: "fine centres", expected: "(m, D) with m, D ≥ 1", actual: fineCentres.shape)
        }
        let m = fineCentres.shape[0], d = fineCentres.shape[1]
        guard !expertFine.isEmpty else { throw RoutingError.invalidOption("no experts to route to") }
        var covered = [[Int]](repeating: [], count: m)
        for (e, fine) in expertFine.enumerated() {
            guard !fine.isEmpty else { throw RoutingError.invalidOption("expert \(e) covers no fine centres") }
            for s in fine {
                guard s >= 0, Int(s) < m else {
                    throw RoutingError.invalidOption("expert \(e) lists fine centre \(s), outside 0..<\(m)")
                }
                if covered[Int(s)].last != e { covered[Int(s)].append(e) }
            }
        }
        for r in 0..<m {
            for j in 0..<d where !fineCentres.data[r * d + j].isFinite {
                throw RoutingError.nonFinite(what: "fine centres", row: r)
            }
        }
        let c = fineCentres.copy()
        let norms = Tensor(shape: [m])
        if options.renormaliseCentres {
            L2Normalize.forward(c.data, norms.data, c.data, rows: m, cols: d)
        }
        NearestCentres.rowSquaredNorms(norms.data, c.data, n: m, d: d)
        centres = c
        centreNorms = norms
        self.expertFine = expertFine
        self.options = options
        coveredBy = covered
    }

    /// Nearest fine centre of every row of `embeddings` (N, D) and the squared distance to it, by
    /// `NearestCentres.nearest` (Float candidates, then exact Double distances; ties: the lower index).
    public func nearest(_ embeddings: Tensor) throws -> (index: [Int32], squaredDistance: [Double]) {
        let d = dimension, m = fineCount
        guard embeddings.rank == 2, embeddings.shape[1] == d else {
            throw RoutingError.badShape(what: "embeddings", expected: "(N, \(d))", actual: embeddings.shape)
        }
        let n = embeddings.shape[0]
        for r in 0..<n {
            for j in 0..<d where !embeddings.data[r * d + j].isFinite { throw RoutingError.nonFinite(what: "embeddings", row: r) }
        }
        var index = [Int32](repeating: 0, count: n), dist = [Double](repeating: 0, count: n)
        index.withUnsafeMutableBufferPointer { ip in
            dist.withUnsafeMutableBufferPointer { dp in
                guard let ip = ip.baseAddress, let dp = dp.baseAddress else { return }
                NearestCentres.nearest(ip, dp, embeddings.data, centres.data, n: n, d: d, k: m, centreNorms: centreNorms.data)
            }
        }
        return (index, dist)
    }

    /// Weights for a task whose class (or text) embeddings are `embeddings` (L, D), L2-normalised.
    public func route(_ embeddings: Tensor) throws -> RoutingDecision {
        guard embeddings.rank == 2, embeddings.shape[0] >= 1 else {
            throw RoutingError.badShape(what: "class embeddings", expected: "(L, \(dimension)) with L ≥ 1", actual: embeddings.shape)
        }
        let (index, squared) = try nearest(embeddings)
        let distances = options.method == .reference ? squared.map { $0.squareRoot() } : squared
        return RoutingDecision(weights: weights(nearest: index, squaredDistance: squared, taskSize: index.count),
                               nearestFine: index, distances: distances,
                               expertOfClass: index.map { coveredBy[Int($0)].first ?? -1 })
    }

    /// Per-query weights (Q × experts) for text→image retrieval: each query is its own task
    /// (|L| = 1 in the size adjustments of both methods).
    public func routeEach(_ queries: Tensor) throws -> [[Double]] {
        let (index, squared) = try nearest(queries)
        return (0..<index.count).map { q in weights(nearest: [index[q]], squaredDistance: [squared[q]], taskSize: 1) }
    }

    /// The expert weights of a task of `taskSize` classes whose nearest fine centres and squared
    /// distances are given (one entry per class).
    func weights(nearest: [Int32], squaredDistance: [Double], taskSize n: Int) -> [Double] {
        let experts = expertCount
        switch options.method {
        case .uniform:
            return [Double](repeating: 1 / Double(experts), count: experts)
        case .paper:
            let l = Double(n)
            let lambda = n > 200 ? options.lambda / log(l) : options.lambda
            let factor = n < 10 ? exp(0.5 - l.squareRoot()) : 1
            var score = [Double](repeating: 0, count: experts)
            for (s, d2) in zip(nearest, squaredDistance) {
                let a = factor * exp(-d2 / lambda)
                for e in coveredBy[Int(s)] { score[e] += a }
            }
            return Self.softmax(score)
        case .reference:
            let l = Double(n)
            let offset = n < 10 ? exp(0.5 - l.squareRoot()) : 0
            let sharpen = options.referenceScale * log10(max(10, l - 200))
            var w = [Double](repeating: 0, count: experts)
            for (s, d2) in zip(nearest, squaredDistance) {
                let v = exp((offset - d2.squareRoot()) * sharpen)
                for e in coveredBy[Int(s)] { w[e] += v }
            }
            return Self.softmax(w.map { $0 / options.referenceTemperature })
        }
    }

    /// softmax(x), computed with the maximum subtracted.
    static func softmax(_ x: [Double]) -> [Double] {
        guard let top = x.max() else { return [] }
        let e = x.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }
}

/// Class (metadata) embeddings for routing, made with the caption encoder used for clustering.
public enum ClassEmbedding {
    /// Each class: embed every template-filled prompt, normalise, average, renormalise → (L, D).
    public static func embed(classNames: [String], templates: [String], encoder: SentenceEncoder, batch: Int = 64) -> Tensor {
        precondition(!classNames.isEmpty && !templates.isEmpty, "no class names or no templates")
        let prompts = classNames.flatMap { ZeroShotClassifier.prompts($0, templates: templates) }
        let features = encoder.embed(prompts, batchSize: batch)  // (L · T, D), unit rows
        return average(features, classes: classNames.count, templates: templates.count)
    }

    /// The metadata of a task as routing embeddings (L, D): a classification task's class names
    /// with its templates (see `embed`), or every caption of a retrieval task (its texts are the
    /// metadata for image→text routing), each its own row.
    public static func taskMetadata(_ task: BenchmarkTask, encoder: SentenceEncoder, batch: Int = 64) throws -> Tensor {
        switch task.kind {
        case .classification:
            return embed(classNames: task.classnames, templates: task.templates, encoder: encoder, batch: batch)
        case .retrieval:
            let texts = try task.samples().samples.flatMap(\.captions)
            return encoder.embed(texts, batchSize: batch)
        }
    }

    /// Rows of `features` (classes · templates, D), class-major, averaged per class and
    /// unit-normalised → (classes, D). A zero mean stays zero.
    public static func average(_ features: Tensor, classes: Int, templates: Int) -> Tensor {
        precondition(features.rank == 2 && features.shape[0] == classes * templates, "expected (classes · templates, D) features")
        let d = features.shape[1]
        let out = Tensor(shape: [classes, d])
        var acc = [Double](repeating: 0, count: d)
        for c in 0..<classes {
            for j in 0..<d { acc[j] = 0 }
            for t in 0..<templates {
                let row = features.data + (c * templates + t) * d
                for j in 0..<d { acc[j] += Double(row[j]) }
            }
            for j in 0..<d { out.data[c * d + j] = Float(acc[j]) }
        }
        let norms = Tensor(shape: [classes])
        L2Normalize.forward(out.data, norms.data, out.data, rows: classes, cols: d)
        return out
    }
}

/// Sparse ensembles (c-BTM's top-k): only the k highest-weighted experts run.
public enum SparseEnsemble {
    /// `weights` with all but the `k` largest set to 0 (ties: the lower index) and those
    /// renormalised to sum 1; unchanged when at most `k` are above 0.
    public static func keepTop(_ weights: [Double], k: Int) -> [Double] {
        precondition(k > 0, "k must be positive")
        let positive = weights.indices.filter { weights[$0] > 0 }
        guard positive.count > k else { return weights }
        let kept = positive.sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }.prefix(k)
        let sum = kept.reduce(0.0) { $0 + weights[$1] }
        var out = [Double](repeating: 0, count: weights.count)
        for i in kept { out[i] = weights[i] / sum }
        return out
    }
}
