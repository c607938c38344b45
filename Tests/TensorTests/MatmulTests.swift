import Testing
@testable import Tensor

@Suite struct MatmulTests {
    @Test func gemmMatchesReference() throws {
        var rng = SeededRNG(seed: 1)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 31, 128)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = Tensor.randn([m * k], rng: &rng), b = Tensor.randn([k * n], rng: &rng)
                    let c0 = Tensor.randn([m * n], rng: &rng)
                    let c1 = c0.copy()
                    Matmul.gemm(c0.data, a.data, b.data, m: m, n: n, k: k, transA: ta, transB: tb, alpha: 0.5, beta: 1)
                    Matmul.gemmReference(c1.data, a.data, b.data, m: m, n: n, k: k, transA: ta, transB: tb, alpha: 0.5, beta: 1)
                    for i in 0..<(m * n) {
                        #expect(abs(c0[i] - c1[i]) <= 1e-4 * (1 + abs(c1[i])), "m\(m) n\(n) k\(k) ta\(ta) tb\(tb) at \(i)")
                    }
                }
            }
        }
    }
}

@Suite struct BLASChoiceTests {
    @Test func amdWithAVX512PrefersBLIS() {
        let amd = CPUFeatures(model: "AMD EPYC", vendor: "AuthenticAMD", flags: ["avx2", "avx512f"])
        let intel = CPUFeatures(model: "Xeon", vendor: "GenuineIntel", flags: ["avx2", "avx512f"])
        let amdAVX2 = CPUFeatures(model: "Ryzen", vendor: "AuthenticAMD", flags: ["avx2"])
        #expect(BLAS.defaultPreference(cpu: amd) == [.blis, .mkl, .openblas])
        #expect(BLAS.defaultPreference(cpu: intel) == [.mkl, .blis, .openblas])
        #expect(BLAS.defaultPreference(cpu: amdAVX2) == [.mkl, .blis, .openblas])
    }
}
