import ArgumentParser
import MoDE

struct BenchLayer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layer",
        abstract: "Forward and backward time of each layer at a CLIP config's vision-tower shape; one JSON line per layer.",
        discussion: """
        Shapes: batch (default: 256 for tiny/small, 16 otherwise) × the vision tower's tokens × its \
        width (text_block: the text tower's). gflops counts the nominal floating-point operations of \
        forward + backward (GEMMs and attention products; 20 per element for layer norm, forward and backward together) over their \
        measured median time.
        """)

    /// `all` or one layer.
    struct Selection: ExpressibleByArgument {
        var layer: BenchLayerKind?

        init(_ layer: BenchLayerKind?) { self.layer = layer }

        init?(argument: String) {
            if argument == "all" {
                layer = nil
            } else if let kind = BenchLayerKind(rawValue: argument) {
                layer = kind
            } else {
                return nil
            }
        }

        static var allValueStrings: [String] { ["all"] + BenchLayerKind.allCases.map(\.rawValue) }
        var defaultValueDescription: String { layer?.rawValue ?? "all" }
    }

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config = BenchLayerOptions.default.config
    @Option(help: "Layer to time, or all.")
    var layer = Selection(BenchLayerOptions.default.layer)
    @Option(help: "Batch size (images).") var batch: Int?
    @Option(help: "Timed repetitions (after one warm-up).") var steps = BenchLayerOptions.default.steps
    @OptionGroup var compute: ComputeOptions

    var benchmark: BenchLayerOptions {
        var o = BenchLayerOptions()
        (o.config, o.layer, o.batch, o.steps) = (config, layer.layer, batch, steps)
        return o
    }

    func validate() throws { try validating(benchmark.validate) }

    func run() throws {
        let blas = try compute.apply()
        try Benchmarks.layers(benchmark, blas: blas) { try printJSONLine($0) }
    }
}
