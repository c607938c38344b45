// swift-tools-version:6.0
import PackageDescription

// Numeric targets are compiled for AVX2/FMA on x86-64 (any x86-64 CPU since 2013 has them);
// set MODE_PORTABLE=1 when building to drop this and target the baseline instruction set.
let portable = Context.environment["MODE_PORTABLE"] == "1"
#if arch(x86_64)
let cpuFlags: [String] = portable ? [] : ["-target-cpu", "haswell"]
let cCpuFlags: [String] = portable ? [] : ["-mavx2", "-mfma"]
#else
let cpuFlags: [String] = []
let cCpuFlags: [String] = []
#endif
let numericSwift: [SwiftSetting] = [
    .unsafeFlags(cpuFlags),
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "MoDE",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mode", targets: ["ModeCLI"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Data", targets: ["Data"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "MoDE", targets: ["MoDE"]),
        .library(name: "Clustering", targets: ["Clustering"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: C shim — BLAS entry points resolved at run time (dlopen)
        .target(
            name: "CBLAS",
            cSettings: [.unsafeFlags(["-O3"] + cCpuFlags)],
            linkerSettings: [.linkedLibrary("dl")]
        ),

        // MARK: C shim — image codecs (libjpeg-turbo, libpng, libwebp): probe, decode to RGB, encode
        .target(
            name: "CCodecs",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp")]
        ),

        // MARK: Tensor — storage, the one GEMM call site, parallel-for, SIMD kernels
        .target(name: "Tensor", dependencies: ["CBLAS"], swiftSettings: numericSwift),

        // MARK: NN — layers with backward, parameter arena, AdamW, schedules, safetensors
        .target(name: "NN", dependencies: ["Tensor"], swiftSettings: numericSwift),

        // MARK: Models — CLIP and BERT (caption encoder: WordPiece tokenizer, encoder, pooling) built from NN layers
        // Optimised in debug builds too: the MiniLM parity test runs a 22M-parameter encoder.
        .target(name: "Models", dependencies: ["NN", "Tokenizers"],
                swiftSettings: numericSwift + [.unsafeFlags(["-O"], .when(configuration: .debug))]),

        // MARK: Data — tar/WebDataset shards, images, loaders, benchmark tasks, synthetic corpus
        .target(name: "Data", dependencies: ["Tensor", "CCodecs"], swiftSettings: numericSwift),

        // MARK: Tokenizers — open_clip's CLIP BPE tokenizer and text cleaning (Foundation only)
        .target(name: "Tokenizers"),

        // MARK: MoDE — training runs, expert selection, routing, ensembles, reports
        .target(name: "MoDE", dependencies: ["Models", "Data", "Tokenizers", "NN", "Clustering"], swiftSettings: numericSwift),

        // MARK: Clustering — balanced k-means (in memory and streamed), two-level hierarchy, assignment
        .target(name: "Clustering", dependencies: ["Tensor", "NN"], swiftSettings: numericSwift),

        // MARK: CLI — the `mode` executable (thin: parse, validate, call one library function)
        .executableTarget(
            name: "ModeCLI",
            dependencies: ["Tensor", "NN", "Models", "Tokenizers", "Data", "MoDE", "Clustering", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: numericSwift
        ),

        // MARK: Tests — one target per library target, plus shared helpers
        .target(name: "TestSupport", dependencies: ["NN"], path: "Tests/TestSupport", swiftSettings: numericSwift),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"], swiftSettings: numericSwift),
        .testTarget(
            name: "NNTests", dependencies: ["NN", "TestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: numericSwift
        ),
        .testTarget(
            name: "ModelsTests", dependencies: ["Models", "TestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: numericSwift
        ),
        .testTarget(name: "DataTests", dependencies: ["Data", "NN", "TestSupport"], resources: [.copy("Fixtures")], swiftSettings: numericSwift),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MoDETests", dependencies: ["MoDE", "TestSupport", "Clustering", "Data", "Models"], swiftSettings: numericSwift),
        .testTarget(name: "ClusteringTests", dependencies: ["Clustering", "TestSupport"], swiftSettings: numericSwift),
    ],
    swiftLanguageModes: [.v5]
)
