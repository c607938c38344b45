import Foundation
import MoDEClustering

extension ExpertManifest {
    // MARK: Experts from runs

    /// The expert a training run folder holds: its latest checkpoint's model.safetensors and
    /// open_clip_config.json, the fine centres of coarse cluster `coarse` in `hierarchy`,
    /// samples seen = the steps it trained (state.json's step, less the forked step) × batch
    /// (params.json), seed = the checkpoint it started from (params.json's init or fork).
    public static func entry(run: String, hierarchy: ClusterHierarchy, coarse: Int, name: String) throws -> ExpertEntry {
        let fine = try fineCentres(of: coarse, in: hierarchy, source: run)
        guard let dir = CheckpointStore(runDirectory: run).latest() else {
            throw ExpertManifestError.badRun(path: run, reason: "no checkpoint in this run folder (expected checkpoints/step_N/model.safetensors)")
        }
        let model = (dir as NSString).appendingPathComponent("model.safetensors")
        let config = (dir as NSString).appendingPathComponent(CLIPModel.openCLIPConfigFile)
        guard FileManager.default.fileExists(atPath: config) else {
            throw ExpertManifestError.badRun(path: dir, reason: "the checkpoint has no \(CLIPModel.openCLIPConfigFile)")
        }
        let state: TrainerState, params: RunParameters
        do {
            state = try TrainerState.read(checkpoint: dir)
            params = try RunFolder(run).readParameters()
        } catch let e as FormatError {
            throw ExpertManifestError.badRun(path: e.path, reason: e.reason)
        }
        return ExpertEntry(name: name, checkpoint: absolute(model), config: absolute(config), fine: fine, coarse: coarse,
                           samplesSeen: (state.step - (params.forkStep ?? 0)) * params.options.batch, seed: params.initCheckpoint ?? params.fork, run: absolute(run))
    }

    /// The expert a checkpoint trained elsewhere holds (any format `CLIPCheckpoint.open` reads:
    /// open_clip, transformers or PyTorch files), for the fine centres of coarse cluster `coarse`.
    /// `config` names its architecture when the checkpoint carries none. Samples seen and seed are
    /// unknown (0 and none). The entry names the weights file itself (inside a folder, the file
    /// the folder holds).
    public static func entry(checkpoint: String, config: String?, hierarchy: ClusterHierarchy, coarse: Int, name: String) throws -> ExpertEntry {
        let fine = try fineCentres(of: coarse, in: hierarchy, source: checkpoint)
        let opened: CLIPCheckpoint
        do { opened = try CLIPCheckpoint.open(checkpoint, config: config) } catch {
            throw ExpertManifestError.badRun(path: checkpoint, reason: "cannot open the checkpoint: \(error)")
        }
        let configReference: String
        switch opened.configSource {
        case .preset(let preset): configReference = preset
        case .openCLIPFile(let file), .huggingFaceFile(let file): configReference = absolute(file)
        case .model: throw ExpertManifestError.badRun(path: checkpoint, reason: "the checkpoint carries no config; name one with --config")
        }
        return ExpertEntry(name: name, checkpoint: absolute(opened.file), config: configReference, fine: fine, coarse: coarse)
    }

    /// The fine centres that `hierarchy` maps to coarse cluster `coarse` (an error naming
    /// `source` when there are none or `coarse` is out of range).
    static func fineCentres(of coarse: Int, in hierarchy: ClusterHierarchy, source: String) throws -> [Int32] {
        guard coarse >= 0 && coarse < hierarchy.coarseCount else {
            throw ExpertManifestError.badRun(path: source, reason: "coarse cluster \(coarse) is outside 0..<\(hierarchy.coarseCount) of the clusters file")
        }
        let fine = hierarchy.fineToCoarse.indices.filter { hierarchy.fineToCoarse[$0] == Int32(coarse) }.map { Int32($0) }
        guard !fine.isEmpty else {
            throw ExpertManifestError.badRun(path: source, reason: "coarse cluster \(coarse) holds no fine centres")
        }
        return fine
    }

    /// Where an expert's weights come from: a training run folder of `mode train`, or a
    /// checkpoint trained elsewhere (with its config when it carries none).
    public enum Source: Sendable, Equatable {
        case run(String)
        case checkpoint(String, config: String?)
    }

    /// What `register` did.
    public struct Registration: Sendable, Equatable {
        public var entry: ExpertEntry
        /// Whether an expert of the same name was replaced.
        public var replaced: Bool
    }

    /// Adds (or replaces) the expert that `source` holds (a training run, or a checkpoint trained
    /// elsewhere) to the manifest at
    /// `manifestPath`, creating the manifest when absent (with `embedder`, the caption encoder the
    /// clustering used), and writes it atomically. The expert covers the fine centres that the
    /// clusters file `clusters` (a cluster folder or its clusters.safetensors) maps to coarse
    /// cluster `coarse`. A clusters file other than the manifest's is accepted when its fine
    /// centres are the same (as after `mode cluster --split`); the entry then records it. No
    /// other entry changes, and the result is validated before it is written.
    public static func register(_ source: Source, clusters: String, coarse: Int, name: String? = nil,
                                manifestPath: String, embedder: String?) throws -> Registration {
        let clustersFile = FeatureClustering.hierarchyPath(clusters)
        let hierarchy: ClusterHierarchy
        do { hierarchy = try ClusterHierarchy(contentsOf: clustersFile) } catch {
            throw ExpertManifestError.unreadable(path: clustersFile, reason: "cannot read the clusters file (\(error))")
        }
        var manifest: ExpertManifest
        var sourceClusters: String?
        if FileManager.default.fileExists(atPath: manifestPath) {
            manifest = try read(manifestPath)
            if absolute(clustersFile) != manifest.clusters {
                guard try manifest.hierarchy().sharesFineCentres(with: hierarchy) else {
                    throw ExpertManifestError.invalid(path: manifestPath, reason: "routes by the fine centres of \(manifest.clusters), and \(clustersFile) has other fine centres; experts of one manifest must share them (re-clustering needs a new manifest)")
                }
                sourceClusters = absolute(clustersFile)
            }
            if let embedder, absolute(embedder) != manifest.embedder {
                throw ExpertManifestError.invalid(path: manifestPath, reason: "uses the embedder \(manifest.embedder), not \(embedder)")
            }
        } else {
            guard let embedder else {
                throw ExpertManifestError.invalid(path: manifestPath, reason: "a new manifest needs the caption encoder the clustering used (--embedder)")
            }
            manifest = ExpertManifest(clusters: absolute(clustersFile), embedder: absolute(embedder))
        }
        let entryName = name ?? "expert-\(coarse)"
        var entry: ExpertEntry
        switch source {
        case .run(let run): entry = try ExpertManifest.entry(run: run, hierarchy: hierarchy, coarse: coarse, name: entryName)
        case let .checkpoint(checkpoint, config):
            entry = try ExpertManifest.entry(checkpoint: checkpoint, config: config, hierarchy: hierarchy, coarse: coarse, name: entryName)
        }
        entry.clusters = sourceClusters
        let replaced = manifest.experts.contains { $0.name == entry.name }
        try manifest.add(entry, manifestPath: manifestPath)
        try manifest.save(manifestPath)
        return Registration(entry: entry, replaced: replaced)
    }

    /// The experts as table rows: a header, then name, coarse cluster, fine centres, samples
    /// seen, seed and checkpoint.
    public func table() -> [[String]] {
        [["name", "coarse", "fine", "samples", "seed", "checkpoint"]] + experts.map { e in
            [e.name, e.coarse.map(String.init) ?? "-", String(e.fine.count), String(e.samplesSeen), e.seed ?? "-", e.checkpoint]
        }
    }
}
