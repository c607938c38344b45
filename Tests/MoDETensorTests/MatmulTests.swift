import Testing
@testable import MoDETensor

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

@Suite struct SplitGEMMTests {
    /// Products large enough to be split over threads (when the library runs single-threaded),
    /// by rows and by columns, with transposes and leading dimensions, against the reference.
    @Test func largeProductsMatchReference() {
        var rng = SeededRNG(seed: 3)
        for (m, n, k) in [(300, 70, 64), (40, 333, 80), (129, 129, 65)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = Tensor.randn([m * k], rng: &rng), b = Tensor.randn([k * n], rng: &rng)
                let c0 = Tensor.randn([m * n], rng: &rng), c1 = c0.copy()
                Matmul.gemm(c0.data, a.data, b.data, m: m, n: n, k: k, transA: ta, transB: tb, alpha: 0.7, beta: 0.5)
                Matmul.gemmReference(c1.data, a.data, b.data, m: m, n: n, k: k, transA: ta, transB: tb, alpha: 0.7, beta: 0.5)
                var worst: Float = 0
                for i in 0..<(m * n) { worst = max(worst, abs(c0[i] - c1[i]) / (1 + abs(c1[i]))) }
                #expect(worst <= 1e-4, "m\(m) n\(n) k\(k) ta\(ta) tb\(tb): \(worst)")  // Float32 sums of ≤ 80 terms
            }
        }
    }
}
