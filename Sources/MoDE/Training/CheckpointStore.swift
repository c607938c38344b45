import Foundation
import MoDEFormats
import MoDEModels
import MoDENN
import MoDETensor

/// The checkpoints of a run directory (`RUN/checkpoints/step_NNNNNNNN/`), each a complete folder:
/// `model.safetensors` (parameters under their PyTorch names), `optimizer.safetensors`
/// (`exp_avg.NAME`, `exp_avg_sq.NAME`, metadata `step`), `state.json` (the trainer's own state:
/// step, RNG, data position…) and any extra files. A folder is written under a temporary name,
/// every file fsynced, then renamed into place, and `checkpoints/latest` (its name) replaced
/// atomically — a run killed at any moment leaves the previous checkpoint loadable.
public struct CheckpointStore {
    public let runDirectory: String
    public var directory: String { (runDirectory as NSString).appendingPathComponent("checkpoints") }

    public init(runDirectory: String) { self.runDirectory = runDirectory }

    /// Writes a checkpoint for `step`; returns its folder. Keeps the newest `keep` checkpoints.
    @discardableResult
    public func save(step: Int, arena: ParameterArena, optimizer: AdamW?, state: TrainerState,
                     extraFiles: [String: Data] = [:], keep: Int = 2) throws -> String {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let name = String(format: "step_%08d", step)
        let final = (directory as NSString).appendingPathComponent(name)
        let tmp = (directory as NSString).appendingPathComponent(".tmp-\(name)-\(getpid())")
        try? fm.removeItem(atPath: tmp)
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        do {
            var model = SafeTensorsWriter()
            arena.write(to: &model)
            try model.write(to: tmp + "/model.safetensors", metadata: ["format": "pt", "step": String(step)])
            if let optimizer {
                var opt = SafeTensorsWriter()
                arena.write(to: &opt, buffer: optimizer.m, prefix: "exp_avg.")
                arena.write(to: &opt, buffer: optimizer.v, prefix: "exp_avg_sq.")
                try opt.write(to: tmp + "/optimizer.safetensors", metadata: ["step": String(optimizer.step)])
            }
            try JSONFile.write(state, to: tmp + "/state.json")
            for (file, data) in extraFiles { try AtomicFile.write(data, to: tmp + "/" + file) }
            try? fm.removeItem(atPath: final)
            guard rename(tmp, final) == 0 else {
                throw CheckpointError.invalidState(file: final, reason: "cannot rename checkpoint into place: \(String(cString: strerror(errno)))")
            }
            fsyncDirectory(directory)
            try AtomicFile.write(Data((name + "\n").utf8), to: (directory as NSString).appendingPathComponent("latest"))
        } catch {
            try? fm.removeItem(atPath: tmp)
            throw error
        }
        prune(keep: keep)
        return final
    }

    /// The newest complete checkpoint folder, or nil when there is none.
    public func latest() -> String? {
        let pointer = (directory as NSString).appendingPathComponent("latest")
        if let d = FileManager.default.contents(atPath: pointer) {
            let name = String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let p = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: p + "/model.safetensors") { return p }
        }
        return all().last
    }

    /// Complete checkpoint folders, oldest first.
    public func all() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("step_") }.sorted().map { (directory as NSString).appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0 + "/state.json") }
    }

    /// Removes all but the newest `keep` checkpoints and stale temporary folders.
    public func prune(keep: Int) {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        for n in names where n.hasPrefix(".tmp-") && !n.hasSuffix("-\(getpid())") {
            try? fm.removeItem(atPath: (directory as NSString).appendingPathComponent(n))
        }
        let ckpts = all()
        if keep > 0 && ckpts.count > keep {
            let current = latest()
            for p in ckpts.dropLast(keep) where p != current { try? fm.removeItem(atPath: p) }
        }
    }

    /// Loads checkpoint folder `dir` into `arena` (and `optimizer`); returns its state.json.
    /// The state is read first, so a checkpoint of another format changes nothing.
    @discardableResult
    public static func load(_ dir: String, arena: ParameterArena, optimizer: AdamW?) throws -> TrainerState {
        let model = dir + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: model) else { throw CheckpointError.notFound(dir) }
        let state = try TrainerState.read(checkpoint: dir)
        try arena.read(from: SafeTensorsFile(path: model))
        if let optimizer {
            let path = dir + "/optimizer.safetensors"
            guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.notFound(path) }
            let f = try SafeTensorsFile(path: path)
            try arena.read(from: f, buffer: optimizer.m, prefix: "exp_avg.", allowExtra: true)
            try arena.read(from: f, buffer: optimizer.v, prefix: "exp_avg_sq.", allowExtra: true)
            guard let s = f.metadata["step"], let step = Int(s), step >= 0 else {
                throw CheckpointError.invalidState(file: path, reason: "metadata has no valid step")
            }
            optimizer.restore(step: step)
        }
        return state
    }

    /// The checkpoint folder a user means by `path`: a checkpoint folder (with state.json) or a
    /// run folder (its latest checkpoint).
    public static func checkpointDirectory(_ path: String) throws -> String {
        let fm = FileManager.default
        if fm.fileExists(atPath: (path as NSString).appendingPathComponent("state.json")) { return path }
        if let latest = CheckpointStore(runDirectory: path).latest() { return latest }
        throw CheckpointError.notFound(path + " (neither a checkpoint folder with state.json nor a run folder with checkpoints)")
    }

    /// The model file a user means by `path`: a file, a checkpoint folder, an open_clip hub
    /// folder, a transformers CLIP folder (see `CLIPModel.modelFile`), or a run folder (its
    /// latest checkpoint).
    public static func resolveModelFile(_ path: String) throws -> String {
        if let model = try? CLIPModel.modelFile(path) { return model }
        if let l = CheckpointStore(runDirectory: path).latest() { return l + "/model.safetensors" }
        throw CheckpointError.notFound(path)
    }

    /// The CLIP model a user names (see `resolveModelFile`), in any format `CLIPCheckpoint.open`
    /// reads; `config` as in `CLIPModel.load`.
    public static func loadModel(_ path: String, config: String?, gradients: Bool = false) throws -> CLIPModel {
        try openModel(path, config: config, gradients: gradients).model
    }

    /// `loadModel`, also returning what was opened (its `description` names the format, the
    /// architecture and where the activation came from).
    public static func openModel(_ path: String, config: String?, gradients: Bool = false) throws -> (model: CLIPModel, checkpoint: CLIPCheckpoint) {
        try CLIPModel.open(checkpoint: resolveModelFile(path), config: config, gradients: gradients)
    }
}

/// fsync on a directory, so a rename inside it is durable.
func fsyncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY)
    if fd >= 0 { fsync(fd); close(fd) }
}
