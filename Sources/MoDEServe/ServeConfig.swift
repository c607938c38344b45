import Foundation
import MoDE

/// What `mode serve` serves and how: the models, batching, the queue bound and the caches.
public struct ServeConfig: Sendable {
    public enum Source: Sendable, Equatable {
        /// The experts of a manifest, routed per request by its labels and ensembled.
        case experts(String)
        /// One CLIP model; config nil: the one beside the weights.
        case checkpoint(String, config: String?)
    }

    public var source: Source
    /// Images per forward pass at most.
    public var maxBatch = 32
    /// How long the worker waits for more images after the first one of a batch arrives.
    public var batchWaitMs = 5
    /// Images waiting for the worker at most; a request that would exceed it is refused (429).
    public var maxQueue = 256
    /// Run only the K highest-weighted experts of a request (weights renormalised); nil: all.
    public var topExperts: Int?
    /// Label sets (with their templates) whose class embeddings are kept.
    public var cacheEntries = 64

    public init(source: Source) { self.source = source }

    /// Checks what a user can get wrong before anything is loaded.
    public func validate() throws {
        guard maxBatch > 0 else { throw ServeError.invalidOption("--max-batch must be positive") }
        guard batchWaitMs >= 0 else { throw ServeError.invalidOption("--batch-wait-ms must not be negative") }
        guard maxQueue >= maxBatch else { throw ServeError.invalidOption("--max-queue must be at least --max-batch") }
        if let k = topExperts, k <= 0 { throw ServeError.invalidOption("--top-experts must be positive") }
        guard cacheEntries > 0 else { throw ServeError.invalidOption("the class-embedding cache needs at least one entry") }
    }
}

/// Why a request or the server's setup failed; the HTTP layer maps each case to a status.
public enum ServeError: Error, CustomStringConvertible, Equatable {
    /// A request that cannot be served as sent (400), naming the field and the problem.
    case badRequest(String)
    /// The queue is full (429): try again later.
    case overloaded(queued: Int, limit: Int)
    /// The models are still loading (503).
    case notReady
    /// A server option that cannot be used.
    case invalidOption(String)

    public var description: String {
        switch self {
        case .badRequest(let why): return why
        case let .overloaded(queued, limit): return "the queue is full (\(queued) of \(limit) images waiting); retry later"
        case .notReady: return "the models are still loading"
        case .invalidOption(let why): return why
        }
    }
}
