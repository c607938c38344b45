import ArgumentParser
import Foundation
import MoDE

struct Index: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store every expert's normalised image features of your images, for `mode search`.",
        discussion: """
            PATHS are image files, folders, globs or .tar shards (as `mode classify` takes them). \
            OUT gets one safetensors file per expert (`features`, (images, E), L2-normalised rows) \
            and index.json (the experts manifest, the image paths in row order, skipped images). \
            Every file is written atomically.
            """)

    @Option(help: "The experts manifest (experts.json).") var experts: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Images per forward pass.") var batch = 32
    @OptionGroup(title: "Compute") var compute: ComputeOptions
    @Argument(help: "Image files, folders, globs or .tar shards.") var paths: [String] = []

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give the images to index") }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        try compute.apply()
        var bar: ProgressBar?
        var current = ""
        let index = try ImageIndex.build(paths: paths, experts: experts, out: out, batch: batch) { expert, event in
            if expert != current {
                bar?.finish()
                bar = ProgressBar(expert, total: nil, unit: "images")
                current = expert
            }
            switch event {
            case .progress(let done, let total): bar?.total = total; bar?.update(done)
            case .skipped(let s): bar?.interrupt("skipped \(s.path): \(s.reason)")
            }
        }
        bar?.finish()
        printError("indexed \(index.images.count) images with \(index.expertNames.count) experts into \(out) (\(index.skipped.count) skipped)")
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find indexed images for text queries with the routed experts.",
        discussion: """
            Each query is routed on its own by its caption embedding (as text→image retrieval is \
            routed: a task of one text), and images are ranked by the routed weighted sum of the \
            experts' cosine similarities between query and image.
            """)

    @Option(help: "The index folder (`mode index --out`).") var index: String
    @Option(help: "A text query (repeatable).") var query: [String] = []
    @Option(help: "Images per query.") var topK = 10
    @Option(help: "Routing method: \(RoutingMethod.allCases.map(\.rawValue).joined(separator: ", ")).") var routing = RoutingMethod.paper
    @OptionGroup(title: "Routing") var routingParameters: RoutingParameters
    @Flag(help: "One JSON line per query.") var json = false
    @OptionGroup(title: "Compute") var compute: ComputeOptions

    func validate() throws {
        guard !query.isEmpty else { throw ValidationError("give at least one --query") }
        guard topK > 0 else { throw ValidationError("--top-k must be positive") }
    }

    func run() throws {
        try compute.apply()
        for r in try ImageIndex.search(index: index, queries: query, topK: topK, routing: routingParameters.options(routing)) {
            if json { try printJSONLine(r); continue }
            print(r.query + "  (weights " + r.weights.map { String(format: "%.3f", $0) }.joined(separator: " ") + ")")
            for h in r.hits { print(String(format: "  %.4f  ", h.score) + h.path) }
        }
    }
}
