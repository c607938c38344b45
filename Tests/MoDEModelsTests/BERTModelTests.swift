import Foundation
import MoDENN
import MoDETensor
import Testing
import TestSupport
@testable import MoDEModels
import MoDEFormats
import MoDETokenizers

/// A copy of the tiny fixture model directory in a fresh temporary directory, for variations.
private func tinyCopy() throws -> TempDirectory {
    let tmp = try TempDirectory()
    let src = try fixtureDirectory("tiny_bert")
    for name in try FileManager.default.contentsOfDirectory(atPath: src) {
        try FileManager.default.copyItem(atPath: src + "/" + name, toPath: tmp.file(name))
    }
    return tmp
}

/// Rewrites `dir`/model.safetensors with `transform` applied to each (name, values, shape).
private func rewriteWeights(_ dir: String, dtype: DType = .f32, _ transform: (String) -> String? = { $0 }) throws {
    let path = dir + "/model.safetensors"
    let f = try SafeTensorsFile(path: path)
    var w = SafeTensorsWriter()
    var keep: [Tensor] = []
    for name in f.names {
        guard let newName = transform(name) else { continue }
        let t = try f.tensor(name)
        keep.append(t)
        w.add(newName, t.data, shape: t.shape, as: dtype)
    }
    try FileManager.default.removeItem(atPath: path)
    try w.write(to: path)
}

/// A random-weight model of awkward shape (widths not multiples of 16, a long position table).
private func randomModel(pooler: Bool = true, seed: UInt64 = 7) -> BERTModel {
    let config = BERTConfig(vocabSize: 50, hiddenSize: 24, layers: 2, heads: 3, intermediateSize: 40, maxPositions: 80)
    let m = BERTModel(config: config, pooler: pooler)
    var rng = SeededRNG(seed: seed)
    for (p, spec) in zip(m.arena.params, m.arena.specs) {
        if spec.name.hasSuffix("LayerNorm.weight") {
            for i in 0..<p.count { m.arena.value(p)[i] = 1 + 0.3 * rng.nextNormal() }
        } else {
            m.arena.initNormal(p, std: 0.3, rng: &rng)
        }
    }
    m.refreshFusedWeights()
    return m
}

/// Cosine similarity of two rows.
private func cosine(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    var ab = 0.0, aa = 0.0, bb = 0.0
    for i in 0..<n {
        ab += Double(a[i]) * Double(b[i])
        aa += Double(a[i]) * Double(a[i])
        bb += Double(b[i]) * Double(b[i])
    }
    return ab / (aa.squareRoot() * bb.squareRoot())
}

@Suite struct BERTModelTests {
    /// The tiny random BERT (pooler included) against transformers' BertModel: ids, final hidden
    /// states, pooler output and the normalised cls-pooler embedding.
    @Test func tinyBERTMatchesTransformers() throws {
        let f = try fixture("bert_tiny_outputs")
        let texts = try fixtureStrings(f)
        let expectedIDs = try fixtureIDLists(f, "ids", "id_offsets")
        let encoder = try SentenceEncoder(directory: try fixtureDirectory("tiny_bert"))
        #expect(encoder.spec == SentenceEmbeddingSpec(pooling: .clsPooler, maxLength: 40))
        let tokens = encoder.tokenize(texts)
        #expect(tokens == expectedIDs)

        let seqs = PackedSequences(lengths: tokens.map(\.count))
        let ids = tokens.flatMap { $0 }
        let ws = BERTModel.Workspace()
        let x = encoder.model.encode(ids: ids, seqs, workspace: ws)
        // Float32 against PyTorch's Float32 through 2 layers with weights of std 0.3: differences
        // come from summation order; 1e-4 relative to the largest |value| (≈ 3) is ample.
        expectClose(x, try f.tensor("last_hidden_state"), relTol: 1e-4, "last_hidden_state")
        let pooled = Tensor(shape: [texts.count, 32])
        encoder.model.pool(pooled.data, x, seqs, mode: .clsPooler)
        expectClose(pooled, try f.tensor("pooler_output"), relTol: 1e-4, "pooler_output")

        // The Double reference agrees with PyTorch too (checks the reference itself).
        let batch = encoder.tokenizer.encodeBatch(texts, maxLength: 40)
        let ref = encoder.model.forwardReference(batch, as: Double.self)
        expectClose(ref.pooled!.map(Float.init), try f.tensor("pooler_output"), relTol: 1e-5, "reference pooler_output")
        withExtendedLifetime(ws) {}

        // embed() = the pooler output, L2-normalised.
        let e = encoder.embed(texts, batchSize: 4)
        let want = try f.tensor("pooler_output")
        for r in 0..<texts.count {
            let row = want.data + r * 32
            let norm = (0..<32).reduce(Float(0)) { $0 + row[$1] * row[$1] }.squareRoot()
            for c in 0..<32 { row[c] /= norm }
        }
        expectClose(e, want, relTol: 1e-4, "normalised embeddings")
        // One batch (kernels parallel inside) and several batches side by side agree up to
        // summation order (GEMM blocking differs with the thread count and the row count):
        // observed 2e-6 relative to the largest element; 1e-5 allowed.
        expectClose(encoder.embed(texts, batchSize: 64), e, relTol: 1e-5, "one batch vs batches side by side")
        #expect(encoder.embed([]).shape == [0, 32])
    }

    /// Packed `encode` + `pool` against the padded Double reference, for every pooling mode, on
    /// awkward widths and lengths on both attention paths (≤ 48 direct, longer through GEMMs).
    @Test func packedEncodeMatchesPaddedReference() throws {
        let m = randomModel()
        var rng = SeededRNG(seed: 3)
        let lengths = [1, 5, 49, 70, 2, 17]
        let tokens: [[Int32]] = lengths.map { l in (0..<l).map { _ in Int32(rng.nextFloat() * 50) % 50 } }
        let seqs = PackedSequences(lengths: lengths)
        let ws = BERTModel.Workspace()
        let x = m.encode(ids: tokens.flatMap { $0 }, seqs, workspace: ws)
        // The reference on a padded batch.
        let T = lengths.max()!
        var ids = [Int32](repeating: 0, count: lengths.count * T), mask = [Int32](repeating: 0, count: lengths.count * T)
        for (b, t) in tokens.enumerated() {
            for (i, id) in t.enumerated() {
                ids[b * T + i] = id
                mask[b * T + i] = 1
            }
        }
        let batch = BERTTokenBatch(count: lengths.count, length: T, ids: ids, attentionMask: mask,
                                   tokenTypeIds: [Int32](repeating: 0, count: ids.count), lengths: lengths)
        let ref = m.forwardReference(batch, as: Double.self)
        var expectedRows: [Float] = []
        for (b, l) in lengths.enumerated() {
            expectedRows += ref.hidden[(b * T * 24)..<((b * T + l) * 24)].map(Float.init)
        }
        // Float32 kernels against a Double reference: LayerNorm keeps values O(1); 1e-4 relative.
        expectClose(x, Tensor(shape: [seqs.rows, 24], values: expectedRows), relTol: 1e-4, "hidden states")
        for mode in BERTPooling.allCases {
            let out = Tensor(shape: [lengths.count, 24])
            m.pool(out.data, x, seqs, mode: mode)
            var want = [Double](repeating: 0, count: lengths.count * 24)
            if mode == .clsPooler {
                want = ref.pooled!
            } else {
                mask.withUnsafeBufferPointer { mk in
                    BERTKernels.poolReference(&want, ref.hidden, mask: mk.baseAddress!, batch: lengths.count, tokens: T, width: 24, mode: mode)
                }
            }
            expectClose(out, Tensor(shape: [lengths.count, 24], values: want.map(Float.init)), relTol: 1e-4, "pooling \(mode)")
        }
        withExtendedLifetime(ws) {}
    }

    /// The attention kernel alone against its reference: head width 20 (a partial SIMD tail),
    /// both paths, sequences of one token.
    @Test func attentionKernelMatchesReference() throws {
        let heads = 2, D = 20, C = heads * D
        let lengths = [1, 3, 48, 49, 60]
        let seqs = PackedSequences(lengths: lengths)
        var rng = SeededRNG(seed: 11)
        let qkv = Tensor.randn([seqs.rows, 3 * C], std: 1.5, rng: &rng)
        let ctx = Tensor(shape: [seqs.rows, C])
        BERTKernels.attention(ctx.data, qkv.data, seqs, heads: heads, headDim: D)
        for (s, l) in lengths.enumerated() {
            let q = (0..<(l * 3 * C)).map { Double(qkv.data[seqs.offsets[s] * 3 * C + $0]) }
            var out = [Double](repeating: 0, count: l * C)
            let mask = [Int32](repeating: 1, count: l)
            BERTKernels.attentionReference(&out, q, mask: mask, batch: 1, tokens: l, heads: heads, headDim: D)
            // Softmax weights sum to 1 and scores are O(10): 1e-5 relative covers Float32 rounding.
            expectClose(ctx.data + seqs.offsets[s] * C, Tensor(shape: [l, C], values: out.map(Float.init)), relTol: 1e-5,
                        "attention, sequence of \(l)")
        }
    }

    @Test func biasGELUMatchesReference() {
        var rng = SeededRNG(seed: 5)
        let rows = 3, n = 37
        let y = Tensor.randn([rows, n], std: 3, rng: &rng), bias = Tensor.randn([n], rng: &rng)
        var ref = y.array.map(Double.init)
        BERTKernels.biasGELUReference(&ref, bias.array.map(Double.init), rows: rows, cols: n)
        BERTKernels.biasGELU(y.data, bias.data, rows: rows, cols: n)
        // The vector erf is within a few ulp; 1e-6 absolute on values up to ~10.
        expectClose(y, Tensor(shape: [rows, n], values: ref.map(Float.init)), relTol: 1e-6, absTol: 1e-6, "bias + GELU")
    }

    /// all-MiniLM-L6-v2 against sentence-transformers on 224 varied captions (short, long,
    /// truncated, accents, CJK, emoji, empty): cosine ≥ 0.99999 and max |difference| ≤ 1e-4 per
    /// embedding. Needs the real weights in .deps/minilm (scripts/fetch_minilm.sh); fails without.
    @Test func miniLMMatchesSentenceTransformers() throws {
        let encoder = try SentenceEncoder(directory: try miniLMDirectory())
        #expect(encoder.spec == SentenceEmbeddingSpec(pooling: .mean, maxLength: 256))
        var worstCos = 1.0, worstAbs: Float = 0, total = 0
        for part in 0..<4 {
            let f = try fixture("bert_minilm_parity_\(part)")
            let captions = try fixtureStrings(f)
            let want = try f.tensor("embeddings")
            let got = encoder.embed(captions, batchSize: 16)
            #expect(got.shape == want.shape)
            for r in 0..<captions.count {
                let a = got.data + r * 384, b = want.data + r * 384
                let cos = cosine(a, b, 384)
                var diff: Float = 0
                for c in 0..<384 { diff = max(diff, abs(a[c] - b[c])) }
                worstCos = min(worstCos, cos)
                worstAbs = max(worstAbs, diff)
                #expect(cos >= 0.99999 && diff <= 1e-4, "caption \(captions[r].prefix(60).debugDescription): cosine \(cos), max |diff| \(diff)")
            }
            total += captions.count
        }
        #expect(total >= 200)
        print("MiniLM parity over \(total) captions: worst cosine \(worstCos), worst max |diff| \(worstAbs)")
    }

    @Test func weightVariantsLoad() throws {
        let f = try fixture("bert_tiny_outputs")
        let texts = try fixtureStrings(f)
        let want = try f.tensor("pooler_output")
        // Keys under a `bert.` prefix, plus extra heads the encoder ignores.
        let prefixed = try tinyCopy()
        try rewriteWeights(prefixed.path) { "bert." + $0 }
        // Half-precision weights.
        let half = try tinyCopy()
        try rewriteWeights(half.path, dtype: .f16)
        for (dir, tol) in [(prefixed.path, Float(1e-4)), (half.path, Float(2e-2))] {
            let e = try SentenceEncoder(directory: dir)
            let tokens = e.tokenize(texts)
            let seqs = PackedSequences(lengths: tokens.map(\.count))
            let ws = BERTModel.Workspace()
            let x = e.model.encode(ids: tokens.flatMap { $0 }, seqs, workspace: ws)
            let out = Tensor(shape: [texts.count, 32])
            withExtendedLifetime(ws) { e.model.pool(out.data, x, seqs, mode: .clsPooler) }
            // F16 rounds each weight to 11 bits (relative 5e-4); through 2 layers ~1e-2.
            expectClose(out, want, relTol: tol, "pooler output from \(dir.hasSuffix("/") ? dir : dir)")
        }
    }

    @Test func poolingFromTheDirectoryDescription() throws {
        let tmp = try tinyCopy()
        func write(_ name: String, _ text: String) throws {
            let path = tmp.file(name)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
        #expect(try SentenceEncoder(directory: tmp.path).spec.pooling == .clsPooler)
        try write("modules.json", #"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#)
        try write("1_Pooling/config.json", #"{"word_embedding_dimension": 32, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true}"#)
        try write("sentence_bert_config.json", #"{"max_seq_length": 16, "do_lower_case": false}"#)
        #expect(try SentenceEncoder(directory: tmp.path).spec == SentenceEmbeddingSpec(pooling: .mean, maxLength: 16))
        try write("1_Pooling/config.json", #"{"pooling_mode": "max"}"#)
        #expect(try SentenceEncoder(directory: tmp.path).spec.pooling == .max)
        #expect(try SentenceEncoder(directory: tmp.path, pooling: .cls, maxLength: 8).spec == SentenceEmbeddingSpec(pooling: .cls, maxLength: 8))
        try write("1_Pooling/config.json", #"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true}"#)
        #expect(throws: BERTError.self) { try SentenceEncoder(directory: tmp.path) }
        try write("modules.json", #"[{"idx":0,"path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"path":"2_Dense","type":"sentence_transformers.models.Dense"}]"#)
        #expect { try SentenceEncoder(directory: tmp.path) } throws: { "\($0)".contains("modules.json") && "\($0)".contains("Dense") }
        // Embedding lengths follow sentence_bert_config.json's max_seq_length.
        try write("modules.json", "[]")
        try FileManager.default.removeItem(atPath: tmp.file("modules.json"))
        let e = try SentenceEncoder(directory: tmp.path)
        #expect(e.tokenize(["the dog the dog the dog the dog the dog the dog the dog the dog"])[0].count == 16)
    }

    @Test func missingFilesAndMismatchesAreClearErrors() throws {
        func error(_ dir: String) -> String {
            do {
                _ = try SentenceEncoder(directory: dir)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let fm = FileManager.default
        // Missing files, each named.
        for (file, words) in [("config.json", "config.json"), ("model.safetensors", "model.safetensors"),
                              ("vocab.txt", "tokenizer.json or vocab.txt")] {
            let tmp = try tinyCopy()
            try fm.removeItem(atPath: tmp.file(file))
            let e = error(tmp.path)
            #expect(e.contains(words) && e.contains("missing"), "\(file): \(e)")
        }
        #expect(error("/nonexistent-model-dir").contains("missing model directory"))
        // A vocabulary with more tokens than the embedding matrix has rows.
        let big = try tinyCopy()
        let vocab = try String(contentsOfFile: big.file("vocab.txt"), encoding: .utf8)
        try (vocab + "extra1\nextra2\n").write(toFile: big.file("vocab.txt"), atomically: true, encoding: .utf8)
        let e1 = error(big.path)
        #expect(e1.contains("vocab.txt") && e1.contains("ids up to 327") && e1.contains("326 rows"), "\(e1)")
        // config.json disagreeing with the weights.
        let wide = try tinyCopy()
        let config = try String(contentsOfFile: wide.file("config.json"), encoding: .utf8)
        try config.replacingOccurrences(of: "\"intermediate_size\": 64", with: "\"intermediate_size\": 48")
            .write(toFile: wide.file("config.json"), atomically: true, encoding: .utf8)
        let e2 = error(wide.path)
        #expect(e2.contains("model.safetensors") && e2.contains("intermediate.dense.weight") && e2.contains("[48, 32]"), "\(e2)")
        let vocabSize = try tinyCopy()
        try config.replacingOccurrences(of: "\"vocab_size\": 326", with: "\"vocab_size\": 300")
            .write(toFile: vocabSize.file("config.json"), atomically: true, encoding: .utf8)
        let e3 = error(vocabSize.path)
        #expect(e3.contains("model.safetensors") && e3.contains("vocab_size 300"), "\(e3)")
        // Weights missing from the file.
        let partial = try tinyCopy()
        try rewriteWeights(partial.path) { $0.hasPrefix("encoder.layer.1.") ? nil : $0 }
        let e4 = error(partial.path)
        #expect(e4.contains("model.safetensors") && e4.contains("missing 16 weight tensors") && e4.contains("encoder.layer.1."), "\(e4)")
        // Unsupported architecture settings.
        let act = try tinyCopy()
        try config.replacingOccurrences(of: "\"hidden_act\": \"gelu\"", with: "\"hidden_act\": \"relu\"")
            .write(toFile: act.file("config.json"), atomically: true, encoding: .utf8)
        #expect(error(act.path).contains("hidden_act \"relu\""))
    }

    @Test func defaultLocation() throws {
        #expect(SentenceModelLocation.defaultMiniLM(environment: ["MODE_MINILM_DIR": "/somewhere"]) == "/somewhere")
        let tmp = try TempDirectory()
        try FileManager.default.createDirectory(atPath: tmp.file(".deps/minilm"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: tmp.file(".deps/minilm/config.json")))
        try FileManager.default.createDirectory(atPath: tmp.file("bin/sub"), withIntermediateDirectories: true)
        // Found above the executable, or above the working directory.
        let viaExecutable = SentenceModelLocation.defaultMiniLM(environment: [:], workingDirectory: "/", executable: tmp.file("bin/sub/mode"))
        let viaWorkingDirectory = SentenceModelLocation.defaultMiniLM(environment: [:], workingDirectory: tmp.file("bin/sub"), executable: nil)
        let want = URL(fileURLWithPath: tmp.file(".deps/minilm")).resolvingSymlinksInPath().path
        #expect(viaExecutable.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == want)
        #expect(viaWorkingDirectory.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == want)
    }
}
