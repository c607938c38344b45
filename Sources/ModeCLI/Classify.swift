import ArgumentParser
import Foundation
import MoDE

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Zero-shot classification of image files, folders or shards against your labels.",
        discussion: """
            PATHS are image files, folders (searched recursively for .jpg, .jpeg, .png, .webp; \
            sorted), globs (`*`, `?` and `**`, expanded here, so they may be quoted) or WebDataset \
            shards (.tar, brace notation as in --data elsewhere). Output follows the order of PATHS.

            Each label is put into every template ({c} → the label); the class embedding is the \
            normalised mean of the normalised prompt embeddings (open_clip's zero-shot \
            classifier). The probabilities are softmax(100 · cos(image, class)) over the labels, \
            with L2-normalised image and class embeddings, as open_clip's README computes them. \
            A prompt longer than the model's text context is truncated, with a warning naming the label.

            With --experts, the labels are routed as `mode route` routes a task (the same \
            --routing methods and constants), the weights are printed, and the logits are the \
            weighted sum of the experts' logits (as `mode ensemble` scores a routed ensemble) \
            before the softmax.

            Unreadable images are listed on standard error and skipped; no readable image at all \
            is an error.
            """)

    @Option(help: "The experts manifest (experts.json): route the labels and ensemble the experts.") var experts: String?
    @Option(help: "Model weights: a .safetensors file, checkpoint folder, open_clip hub folder or run folder.") var checkpoint: String?
    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config: String?
    @Option(help: "Comma-separated labels.") var labels: String?
    @Option(help: "A text file of labels, one a line.") var labelsFile: String?
    @Option(help: "A clip_benchmark task folder: its class names and templates.") var task: String?
    @Option(help: "Prompt templates: openai (the 80 ImageNet templates), simple (\"a photo of a {c}.\") or a file of templates with {c}, one a line; default: openai, or the task's.")
    var templates: String?
    @Option(help: "Routing method with --experts: \(RoutingMethod.allCases.map(\.rawValue).joined(separator: ", ")).") var routing = RoutingMethod.paper
    @OptionGroup(title: "Routing") var routingParameters: RoutingParameters
    @Option(help: "Labels to print per image.") var topK = 5
    @Option(help: "Images per forward pass.") var batch = 32
    @Option(help: "With --experts: run only the K highest-weighted experts, weights renormalised; default: all.") var topExperts: Int?
    @Flag(help: "One JSON object per image, then a summary line.") var json = false
    @OptionGroup(title: "Compute") var compute: ComputeOptions
    @Argument(help: "Image files, folders, globs or .tar shards.") var paths: [String] = []

    func validate() throws {
        guard (experts == nil) != (checkpoint == nil) else { throw ValidationError("give --experts or --checkpoint (one of them)") }
        guard experts == nil || config == nil else { throw ValidationError("--config goes with --checkpoint (the manifest names each expert's)") }
        guard [labels, labelsFile, task].compactMap({ $0 }).count == 1 else { throw ValidationError("give one of --labels, --labels-file, --task") }
        guard topK > 0, batch > 0 else { throw ValidationError("--top-k and --batch must be positive") }
        guard !paths.isEmpty else { throw ValidationError("give the images to classify (files, folders, globs or shards)") }
    }

    func run() throws {
        try compute.apply()
        var request = ClassifyRequest(model: experts.map { .experts($0) } ?? .checkpoint(checkpoint!, config: config), labels: [], paths: paths)
        if let labels { request.labels = InferenceInputs.labels(commaSeparated: labels) }
        if let labelsFile { request.labels = try InferenceInputs.labels(file: labelsFile) }
        if let task {
            let t = try BenchmarkTask.load(directory: task)
            request.labels = t.classnames
            request.templates = t.templates
        }
        if let templates { request.templates = try PromptTemplates.named(templates) }
        request.routing = routingParameters.options(routing)
        request.topK = topK
        request.batch = batch
        request.topExperts = topExperts
        var bar: ProgressBar?
        let result = try ClassifyRun.run(request) { event in
            switch event {
            case .warning(let w): printError("warning: " + w)
            case .routed(let r):
                printError("routing (\(r.method.rawValue)): " + zip(r.experts, r.weights).map { "\($0) \(String(format: "%.4f", $1))" }.joined(separator: ", "))
            case .model(let name, let index, let count):
                bar?.finish()
                bar = ProgressBar(count > 1 ? "\(name) (\(index + 1)/\(count))" : "classify", total: nil, unit: "images")
            case .images(.progress(let done, let total)):
                bar?.total = total
                bar?.update(done)
            case .images(.skipped(let s)):
                if let bar { bar.interrupt("skipped \(s.path): \(s.reason)") } else { printError("skipped \(s.path): \(s.reason)") }
            }
        }
        bar?.finish()
        if json {
            for p in result.predictions { try printJSONLine(p) }
            try printJSONLine(result.summary)
        } else {
            for p in result.predictions {
                print(p.path)
                for l in p.top { print(String(format: "  %.4f  ", l.probability) + l.label) }
            }
            printError("\(result.summary.images) images classified, \(result.summary.skipped) skipped, "
                       + String(format: "%.1f images/s", result.summary.imagesPerSecond))
        }
    }
}
