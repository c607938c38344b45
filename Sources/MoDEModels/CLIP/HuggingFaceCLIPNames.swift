import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

/// The tensor names of transformers' `CLIPModel` and how they relate to open_clip's: one table
/// read both ways, so import (`openCLIPView`) and export (`saveHuggingFaceFolder`) cannot drift
/// apart. transformers keeps attention's query, key and value projections apart
/// (`self_attn.q_proj` …) where open_clip concatenates them (`attn.in_proj_weight`, rows q, k, v),
/// and stores the final projections as `nn.Linear` weights, the transpose of open_clip's matrices.
public enum HuggingFaceCLIPNames {
    /// The config-file name of a transformers model folder.
    public static let configFile = "config.json"
    /// The weight-file names of a transformers model folder, in the order they are looked for.
    public static let modelFiles = ["model.safetensors", "pytorch_model.bin"]

    /// Tensors renamed one to one (transformers name, open_clip name).
    static let renamed: [(hf: String, openCLIP: String)] = [
        ("vision_model.embeddings.class_embedding", "visual.class_embedding"),
        ("vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight"),
        ("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"),
        ("vision_model.pre_layrnorm.weight", "visual.ln_pre.weight"),  // sic: transformers' spelling
        ("vision_model.pre_layrnorm.bias", "visual.ln_pre.bias"),
        ("vision_model.post_layernorm.weight", "visual.ln_post.weight"),
        ("vision_model.post_layernorm.bias", "visual.ln_post.bias"),
        ("text_model.embeddings.token_embedding.weight", "token_embedding.weight"),
        ("text_model.embeddings.position_embedding.weight", "positional_embedding"),
        ("text_model.final_layer_norm.weight", "ln_final.weight"),
        ("text_model.final_layer_norm.bias", "ln_final.bias"),
        ("logit_scale", "logit_scale"),
    ]

    /// Matrices stored transposed (transformers `Linear` weight (E, W), open_clip (W, E)).
    static let transposed: [(hf: String, openCLIP: String)] = [
        ("visual_projection.weight", "visual.proj"),
        ("text_projection.weight", "text_projection"),
    ]

    /// The prefix of each tower's encoder layers.
    static let towers: [(hf: String, openCLIP: String)] = [
        ("vision_model.encoder.layers.", "visual.transformer.resblocks."),
        ("text_model.encoder.layers.", "transformer.resblocks."),
    ]

    /// Modules inside one encoder layer, renamed one to one.
    static let layerModules: [(hf: String, openCLIP: String)] = [
        ("layer_norm1.", "ln_1."), ("layer_norm2.", "ln_2."), ("self_attn.out_proj.", "attn.out_proj."),
        ("mlp.fc1.", "mlp.c_fc."), ("mlp.fc2.", "mlp.c_proj."),
    ]

    /// Attention's separate projections, in open_clip's row order.
    static let qkv = ["self_attn.q_proj.", "self_attn.k_proj.", "self_attn.v_proj."]

    /// Whether `names` look like a transformers CLIPModel state dict.
    public static func matches(_ names: [String]) -> Bool {
        names.contains("vision_model.embeddings.class_embedding") || names.contains("text_model.embeddings.token_embedding.weight")
    }

    /// `store` (transformers names) presented under open_clip's names. The `position_ids`
    /// buffers are left out; names the table does not know, and the parts of an incomplete
    /// q/k/v triple, keep their own names (so a strict load lists them as unexpected).
    public static func openCLIPView(of store: any TensorStore) throws -> TensorStoreView {
        let hfToOpenCLIP = Dictionary(uniqueKeysWithValues: renamed.map { ($0.hf, $0.openCLIP) })
        let hfTransposed = Dictionary(uniqueKeysWithValues: transposed.map { ($0.hf, $0.openCLIP) })
        var entries: [(name: String, source: TensorStoreView.Source)] = []
        var groups: [String: [String?]] = [:]  // open_clip in_proj name → q, k, v names
        var groupAt: [String: Int] = [:]      // its place among the entries
        for name in store.names {
            if name.hasSuffix("embeddings.position_ids") { continue }
            if let oc = hfToOpenCLIP[name] { entries.append((oc, .tensor(name))); continue }
            if let oc = hfTransposed[name] { entries.append((oc, .transposed(name))); continue }
            guard let tower = towers.first(where: { name.hasPrefix($0.hf) }) else { entries.append((name, .tensor(name))); continue }
            let rest = name.dropFirst(tower.hf.count)
            guard let dot = rest.firstIndex(of: "."), Int(rest[..<dot]) != nil else { entries.append((name, .tensor(name))); continue }
            let layer = tower.openCLIP + rest[...dot]  // e.g. "visual.transformer.resblocks.3."
            let inner = String(rest[rest.index(after: dot)...])
            if let m = layerModules.first(where: { inner.hasPrefix($0.hf) }) {
                entries.append((layer + m.openCLIP + inner.dropFirst(m.hf.count), .tensor(name)))
            } else if let slot = qkv.firstIndex(where: { inner.hasPrefix($0) }), ["weight", "bias"].contains(inner.dropFirst(qkv[slot].count)) {
                let key = layer + "attn.in_proj_" + inner.dropFirst(qkv[slot].count)
                if groups[key] == nil {
                    groups[key] = [nil, nil, nil]
                    groupAt[key] = entries.count
                    entries.append((key, .tensor("")))  // placeholder, settled below
                }
                groups[key]![slot] = name
            } else {
                entries.append((name, .tensor(name)))
            }
        }
        // Settle each q/k/v group: complete → one concatenated tensor; else its parts as they are.
        var settled: [(name: String, source: TensorStoreView.Source)] = []
        let placeholders = Dictionary(uniqueKeysWithValues: groupAt.map { ($0.value, $0.key) })
        for (i, e) in entries.enumerated() {
            guard let key = placeholders[i] else { settled.append(e); continue }
            let parts = groups[key]!
            let shapes = parts.map { $0.flatMap(store.shape) }
            if parts.allSatisfy({ $0 != nil }), let s0 = shapes[0], shapes.allSatisfy({ $0 == s0 }) {
                settled.append((key, .concatenated(parts.map { $0! })))
            } else {
                for p in parts.compactMap({ $0 }) { settled.append((p, .tensor(p))) }
            }
        }
        return try TensorStoreView(base: store, tensors: settled)
    }

    /// The transformers tensors of open_clip tensor `name` (shape `shape`): (name, shape, how to
    /// take it from the open_clip tensor). nil when the table does not know the name.
    static func hfTensors(of name: String, shape: [Int]) -> [(name: String, shape: [Int], part: Part)]? {
        if let r = renamed.first(where: { $0.openCLIP == name }) { return [(r.hf, shape, .whole)] }
        if let t = transposed.first(where: { $0.openCLIP == name }), shape.count == 2 {
            return [(t.hf, [shape[1], shape[0]], .transposed)]
        }
        guard let tower = towers.first(where: { name.hasPrefix($0.openCLIP) }) else { return nil }
        let rest = name.dropFirst(tower.openCLIP.count)
        guard let dot = rest.firstIndex(of: "."), Int(rest[..<dot]) != nil else { return nil }
        let layer = tower.hf + rest[...dot]
        let inner = String(rest[rest.index(after: dot)...])
        if let m = layerModules.first(where: { inner.hasPrefix($0.openCLIP) }) {
            return [(layer + m.hf + inner.dropFirst(m.openCLIP.count), shape, .whole)]
        }
        for kind in ["weight", "bias"] where inner == "attn.in_proj_" + kind && shape[0] % 3 == 0 {
            let part = [shape[0] / 3] + shape.dropFirst()
            return qkv.indices.map { (layer + qkv[$0] + kind, part, .rows($0)) }
        }
        return nil
    }

    /// How a transformers tensor is taken from an open_clip tensor.
    enum Part: Equatable {
        case whole, transposed
        /// Third `k` (0, 1, 2) of the rows.
        case rows(Int)
    }
}

extension CLIPModel {
    /// Writes the model as a Hugging Face transformers CLIP folder into `directory` (created if
    /// needed): `model.safetensors` under transformers' names (F32) and `config.json`
    /// (`HuggingFaceCLIPConfig(config)`); `transformers.CLIPModel.from_pretrained(directory)`
    /// loads it. Each file is written atomically, the weights first.
    public func saveHuggingFaceFolder(_ directory: String) throws {
        var w = SafeTensorsWriter()
        for (p, s) in zip(arena.params, arena.specs) {
            guard let outs = HuggingFaceCLIPNames.hfTensors(of: s.name, shape: s.shape) else {
                throw CheckpointError.invalidState(file: directory, reason: "no transformers name for parameter \(s.name)")
            }
            let src = arena.values.data + p.offset
            for o in outs {
                switch o.part {
                case .whole:
                    w.add(o.name, src, shape: o.shape)
                case .rows(let k):
                    let n = o.shape.reduce(1, *)
                    w.add(o.name, src + k * n, shape: o.shape)
                case .transposed:
                    let rows = s.shape[0], cols = s.shape[1]
                    let t = Tensor(shape: o.shape)
                    for r in 0..<rows { for c in 0..<cols { t.data[c * rows + r] = src[r * cols + c] } }
                    w.add(o.name, t)
                }
            }
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try w.write(to: (directory as NSString).appendingPathComponent(HuggingFaceCLIPNames.modelFiles[0]), metadata: ["format": "pt"])
        let json = try HuggingFaceCLIPConfig(config).data()
        try AtomicFile.write(json, to: (directory as NSString).appendingPathComponent(HuggingFaceCLIPNames.configFile))
    }
}
