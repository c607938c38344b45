import ArgumentParser
import Foundation
import MoDE

struct Experts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the experts manifest (experts.json) that routing and ensembles read.",
        discussion: """
            experts.json names the clusters file whose fine centres route tasks, the caption encoder \
            used for the clustering, and every expert: its checkpoint, model config, the fine centres \
            it covers, samples seen and the seed it started from. Paths inside the manifest's folder \
            are stored relative to it, others absolute. Experts are independent: adding one never \
            changes the others.
            """,
        subcommands: [Add.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add (or replace) one expert from a training run folder or a checkpoint.",
            discussion: """
                Creates the manifest when absent. With --run, the expert's checkpoint is the run's \
                latest checkpoints/step_N/model.safetensors with its open_clip_config.json; with \
                --checkpoint, any checkpoint mode reads (trained elsewhere: open_clip, transformers or \
                PyTorch files; --config when it carries no config), with samples seen 0 and no seed. Its fine centres \
                are those the clusters file maps to coarse cluster --expert (a clusters file other than \
                the manifest's is accepted when its fine centres are the same, as after `mode cluster \
                --split`; the entry then records it); samples seen = step × \
                batch (state.json, params.json); the seed is params.json's "init". An entry with the \
                same name is replaced; no other entry is touched. The manifest is validated before it \
                is written (checkpoints exist, configs share one embedding dimension, fine indices fit \
                the clusters file, the embedder's hidden_size equals the centres' dimension).
                """)

        @Option(help: "The manifest file (created if absent).") var manifest: String
        @Option(name: .customLong("run"), help: "The expert's training run folder (or give --checkpoint).") var runDirectory: String?
        @Option(help: "Instead of --run: a checkpoint trained elsewhere, in any format mode reads (open_clip, transformers or PyTorch files).")
        var checkpoint: String?
        @Option(help: "With --checkpoint: its model config (a preset or JSON file) when it carries none.") var config: String?
        @Option(help: "Folder holding clusters.safetensors (or the file itself).") var clusters: String
        @Option(help: "Coarse cluster (expert) index C in the clusters file.") var expert: Int
        @Option(help: "Expert name (default: expert-C).") var name: String?
        @Option(help: "Caption encoder directory used for the clustering, for a new manifest; default: MODE_MINILM_DIR, else .deps/minilm.")
        var embedder: String?

        func validate() throws {
            guard (runDirectory == nil) != (checkpoint == nil) else { throw ValidationError("give exactly one of --run and --checkpoint") }
            guard config == nil || checkpoint != nil else { throw ValidationError("--config goes with --checkpoint") }
        }

        func run() throws {
            let embedderDirectory = FileManager.default.fileExists(atPath: manifest) ? embedder : try SentenceModelLocation.resolve(embedder)
            let source: ExpertManifest.Source = runDirectory.map { .run($0) } ?? .checkpoint(checkpoint!, config: config)
            let r = try ExpertManifest.register(source, clusters: clusters, coarse: expert, name: name,
                                                manifestPath: manifest, embedder: embedderDirectory)
            print("\(r.replaced ? "replaced" : "added") \(r.entry.name): \(r.entry.fine.count) fine centres, \(r.entry.samplesSeen) samples seen, \(r.entry.checkpoint)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the experts of a manifest as a table.")

        @Option(help: "The manifest file.") var manifest: String

        func run() throws {
            let m = try ExpertManifest.read(manifest)
            print("clusters: \(m.clusters)\nembedder: \(m.embedder)")
            print(TextTable.format(m.table()), terminator: "")
            do { try m.validate(manifestPath: manifest) } catch { printError("warning: \(error)") }
        }
    }
}
