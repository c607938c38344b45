import Foundation
import MoDE

/// The models of a server, loaded once and shared read-only by every request. A CLIP model
/// keeps forward caches, so each one is used under its own lock (see `withModel`).
public final class ServeModels: @unchecked Sendable {
    public struct Expert {
        public let name: String
        public let model: CLIPModel
        let lock = NSLock()
    }

    public let experts: [Expert]
    /// One router per routing method; empty for a single checkpoint.
    let routers: [RoutingMethod: Router]
    let encoder: SentenceEncoder?
    private let encoderLock = NSLock()
    public let tokenizer: CLIPTokenizer

    init(experts: [Expert], routers: [RoutingMethod: Router], encoder: SentenceEncoder?, tokenizer: CLIPTokenizer) {
        self.experts = experts
        self.routers = routers
        self.encoder = encoder
        self.tokenizer = tokenizer
    }

    /// Loads the models of `source`: a manifest's experts with its clusters and caption encoder,
    /// or one checkpoint. Experts of different embedding widths are refused.
    public static func load(_ source: ServeConfig.Source) throws -> ServeModels {
        let tokenizer = try CLIPTokenizer()
        switch source {
        case let .checkpoint(path, config):
            let model = try CheckpointStore.loadModel(path, config: config)
            // Named by its last path component: answers do not show the server's folders.
            let name = URL(fileURLWithPath: path).lastPathComponent
            return ServeModels(experts: [Expert(name: name, model: model)], routers: [:], encoder: nil, tokenizer: tokenizer)
        case .experts(let path):
            let manifest = try ExpertManifest.load(path)
            var routers: [RoutingMethod: Router] = [:]
            for method in RoutingMethod.allCases { routers[method] = try manifest.router(options: RoutingOptions(method: method)) }
            let encoder = try SentenceEncoder(directory: manifest.embedder)
            let dimension = routers[.paper]!.dimension
            guard encoder.dimension == dimension else {
                throw RoutingError.invalidOption("the embedder \(manifest.embedder) gives \(encoder.dimension)-dimensional embeddings, the centres are \(dimension)-dimensional")
            }
            var experts: [Expert] = []
            for m in Ensemble.members(of: manifest).members {
                let model = try CheckpointStore.loadModel(m.checkpoint, config: m.config)
                if let first = experts.first, first.model.embedDim != model.embedDim {
                    throw EnsembleError.dimensionMismatch(file: m.checkpoint, dim: model.embedDim, expected: first.model.embedDim, reference: first.name)
                }
                experts.append(Expert(name: m.name, model: model))
            }
            return ServeModels(experts: experts, routers: routers, encoder: encoder, tokenizer: tokenizer)
        }
    }

    /// True when requests are routed (a manifest), false for one checkpoint.
    public var routed: Bool { !routers.isEmpty }

    /// Runs `body` with expert `index`'s model, alone.
    func withModel<T>(_ index: Int, _ body: (CLIPModel) throws -> T) rethrows -> T {
        let e = experts[index]
        e.lock.lock()
        defer { e.lock.unlock() }
        return try body(e.model)
    }

    /// Runs `body` with the caption encoder, alone (nil: a single checkpoint has none).
    func withEncoder<T>(_ body: (SentenceEncoder) throws -> T) rethrows -> T? {
        guard let encoder else { return nil }
        encoderLock.lock()
        defer { encoderLock.unlock() }
        return try body(encoder)
    }
}
