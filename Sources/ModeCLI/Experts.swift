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
            abstract: "Add (or replace) one expert from a training run folder.",
            discussion: """
                Creates the manifest when absent. The expert's checkpoint is the run's latest \
                checkpoints/step_N/model.safetensors with its open_clip_config.json; its fine centres \
                are those the clusters file maps to coarse cluster --expert (a clusters file other than \
                the manifest's is accepted when its fine centres are the same, as after `mode cluster \
                --split`; the entry then records it); samples seen = step × \
                batch (state.json, params.json); the seed is params.json's "init". An entry with the \
                same name is replaced; no other entry is touched. The manifest is validated before it \
                is written (checkpoints exist, configs share one embedding dimension, fine indices fit \
                the clusters file, the embedder's hidden_size equals the centres' dimension).
                """)

        @Option(help: "The manifest file (created if absent).") var manifest: String
        @Option(name: .customLong("run"), help: "The expert's training run folder.") var runDirectory: String
        @Option(help: "Folder holding clusters.safetensors (or the file itself).") var clusters: String
        @Option(help: "Coarse cluster (expert) index C in the clusters file.") var expert: Int
        @Option(help: "Expert name (default: expert-C).") var name: String?
        @Option(help: "Caption encoder directory used for the clustering, for a new manifest; default: MODE_MINILM_DIR, else .deps/minilm.")
        var embedder: String?

        func run() throws {
            let clustersFile = FeatureClustering.hierarchyPath(clusters)
            let hierarchy = try ClusterHierarchy(contentsOf: clustersFile)
            var sourceClusters: String?
            var m: ExpertManifest
            if FileManager.default.fileExists(atPath: manifest) {
                m = try ExpertManifest.read(manifest)
                if ExpertManifest.absolute(clustersFile) != m.clusters {
                    // Another clusters file is fine when its fine centres are the manifest's (a split).
                    let own = try m.hierarchy()
                    guard own.sharesFineCentres(with: hierarchy) else {
                        throw ValidationError("\(manifest) routes by the fine centres of \(m.clusters), and \(clustersFile) has other fine centres; experts of one manifest must share them (re-clustering needs a new manifest)")
                    }
                    sourceClusters = ExpertManifest.absolute(clustersFile)
                }
                if let embedder, ExpertManifest.absolute(embedder) != m.embedder {
                    throw ValidationError("\(manifest) uses the embedder \(m.embedder), not \(embedder)")
                }
            } else {
                m = ExpertManifest(clusters: ExpertManifest.absolute(clustersFile),
                                   embedder: ExpertManifest.absolute(try resolveModelDirectory(embedder)))
            }
            var entry = try ExpertManifest.entry(run: runDirectory, hierarchy: hierarchy, coarse: expert, name: name ?? "expert-\(expert)")
            entry.clusters = sourceClusters
            let replaced = m.experts.contains { $0.name == entry.name }
            try m.add(entry, manifestPath: manifest)
            try m.save(manifest)
            print("\(replaced ? "replaced" : "added") \(entry.name): \(entry.fine.count) fine centres, \(entry.samplesSeen) samples seen, \(entry.checkpoint)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the experts of a manifest as a table.")

        @Option(help: "The manifest file.") var manifest: String

        func run() throws {
            let m = try ExpertManifest.read(manifest)
            print("clusters: \(m.clusters)\nembedder: \(m.embedder)")
            var rows = [["name", "coarse", "fine", "samples", "seed", "checkpoint"]]
            for e in m.experts {
                rows.append([e.name, e.coarse.map(String.init) ?? "-", String(e.fine.count), String(e.samplesSeen),
                             e.seed ?? "-", e.checkpoint])
            }
            print(formatTable(rows), terminator: "")
            do { try m.validate(manifestPath: manifest) } catch {
                FileHandle.standardError.write(Data("warning: \(error)\n".utf8))
            }
        }
    }
}

/// Rows as left-aligned columns separated by two spaces, one line each.
func formatTable(_ rows: [[String]]) -> String {
    guard let columns = rows.map(\.count).max() else { return "" }
    let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { c, cell in
            c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n") + "\n"
}
