import Foundation
import Tensor
import Testing
@testable import Models

@Test func tmpTiming() throws {
    let R = 1000, H = 384, I = 1536
    var rng = SeededRNG(seed: 1)
    let x = Tensor.randn([R, I], rng: &rng), b = Tensor.randn([I], rng: &rng)
    func t(_ name: String, _ f: () -> Void) {
        let s = DispatchTime.now().uptimeNanoseconds
        f()
        print(name, Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6, "ms")
    }
    t("biasGELU R×I") { BERTKernels.biasGELU(x.data, b.data, rows: R, cols: I) }
    let g = Tensor(shape: [H], repeating: 1), m = Tensor(shape: [R]), r = Tensor(shape: [R])
    t("layerNorm R×H") { LayerNormKernel.forward(x.data, m.data, r.data, x.data, g.data, b.data, rows: R, cols: H) }
    t("residualPlusBias R×H") { BERTKernels.residualPlusBias(x.data, x.data, b.data, rows: R, cols: H) }
    let seqs = PackedSequences(lengths: [Int](repeating: 15, count: 66))
    let qkv = Tensor.randn([seqs.rows, 3 * H], rng: &rng), ctx = Tensor(shape: [seqs.rows, H])
    t("attention 66×15") { BERTKernels.attention(ctx.data, qkv.data, seqs, heads: 12, headDim: 32) }
    let w = Tensor.randn([I, H], rng: &rng), y = Tensor(shape: [R, I])
    t("gemm") { Matmul.gemm(y.data, x.data, w.data, m: R, n: I, k: H, transB: true) }
}
@Test func tmpTiming2() throws {
    let R = 1000, I = 1536
    var rng = SeededRNG(seed: 1)
    let x = Tensor.randn([R, I], rng: &rng)
    let s = DispatchTime.now().uptimeNanoseconds
    Activation.gelu.forward(x.data, x.data, count: R * I)
    print("Activation.gelu", Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6, "ms")
}
