import Foundation
import MoDEModels
import MoDETensor

extension Ensemble {
    /// The routed weights of one task for each (method name, router): classification routes the
    /// class names (each class's template-filled prompts embedded with the caption encoder,
    /// averaged, renormalised); retrieval routes the whole caption corpus (image→text) and each
    /// caption on its own (text→image, mode-method §5).
    public static func routing(_ data: EnsembleTaskData, routers: [(method: String, router: Router)], encoder: SentenceEncoder,
                               batch: Int = 64) throws -> [TaskRouting] {
        guard !routers.isEmpty else { return [] }
        let texts: Tensor
        switch data.kind {
        case .classification:
            texts = ClassEmbedding.embed(classNames: data.classNames, templates: data.templates, encoder: encoder, batch: batch)
        case .retrieval:
            texts = encoder.embed(data.captions, batchSize: batch)  // (captions, D), unit rows
        }
        return try routers.map { method, router in
            let d = try router.route(texts)
            let perQuery = data.kind == .retrieval ? try router.routeEach(texts) : nil
            return TaskRouting(method: method, weights: d.weights, perQuery: perQuery, nearestFine: d.nearestFine,
                               distances: d.distances, expertOfClass: d.expertOfClass)
        }
    }

    /// The experts of a manifest (as `ExpertManifest.load` resolved it) as ensemble members (an
    /// empty config means the open_clip_config.json beside the weights), and their report entries.
    public static func members(of manifest: ExpertManifest) -> (members: [EnsembleMember], info: [EnsembleReport.Expert]) {
        let members = manifest.experts.map { e in
            EnsembleMember(name: e.name, role: .expert, checkpoint: e.checkpoint, config: e.config.isEmpty ? nil : e.config)
        }
        let info = manifest.experts.map { EnsembleReport.Expert(name: $0.name, samplesSeen: $0.samplesSeen, fineCentres: $0.fine.count) }
        return (members, info)
    }

    /// The settings of `options` to print in a report.
    public static func settings(_ o: RoutingOptions) -> [String: String] {
        ["lambda (paper)": String(o.lambda), "scale (reference)": String(o.referenceScale),
         "temperature (reference)": String(o.referenceTemperature), "renormalised centres": o.renormaliseCentres ? "yes" : "no"]
    }
}
