// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "MoDE",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mode", targets: ["ModeCLI"]),
        // The whole library: `import MoDE` brings every layer below it.
        .library(name: "MoDE", targets: ["MoDE"]),
        // The layers on their own, for users who need only part of the stack.
        .library(name: "MoDETensor", targets: ["MoDETensor"]),
        .library(name: "MoDEFormats", targets: ["MoDEFormats"]),
        .library(name: "MoDENN", targets: ["MoDENN"]),
        .library(name: "MoDETokenizers", targets: ["MoDETokenizers"]),
        .library(name: "MoDEModels", targets: ["MoDEModels"]),
        .library(name: "MoDEData", targets: ["MoDEData"]),
        .library(name: "MoDESynth", targets: ["MoDESynth"]),
        .library(name: "MoDEClustering", targets: ["MoDEClustering"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // MARK: C shim — BLAS entry points resolved at run time (dlopen)
        .target(
            name: "CMoDEBLAS",
            linkerSettings: [.linkedLibrary("dl")]
        ),

        // MARK: C shim — image codecs (libjpeg-turbo, libpng, libwebp): probe, decode to RGB, encode
        .target(
            name: "CMoDECodecs",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp")]
        ),

        // MARK: C kernels — float kernels built for AVX2/FMA and for the default target, picked at run time
        .target(
            name: "CMoDEKernels",
            linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]
        ),

        // MARK: C module — the system zlib (the CLIP vocabulary's gzip, deflated zip entries)
        .systemLibrary(name: "CMoDEZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // MARK: MoDETensor — storage, the one GEMM call site, parallel-for, SIMD kernels
        .target(name: "MoDETensor", dependencies: ["CMoDEBLAS", "CMoDEKernels", .product(name: "RealModule", package: "swift-numerics")]),

        // MARK: MoDEFormats — file formats: safetensors, PyTorch checkpoints, strict JSON, half floats, atomic files
        .target(name: "MoDEFormats", dependencies: ["MoDETensor", "CMoDEZlib"]),

        // MARK: MoDENN — layers with backward, parameter arena and its safetensors IO, AdamW, schedules
        .target(name: "MoDENN", dependencies: ["MoDETensor", "MoDEFormats", "CMoDEKernels"]),

        // MARK: MoDETokenizers — open_clip's CLIP BPE and Hugging Face's BERT WordPiece, exact to the references
        .target(name: "MoDETokenizers", dependencies: ["MoDEFormats", "CMoDEZlib"]),

        // MARK: MoDEModels — CLIP and the BERT caption encoder, built from NN layers
        .target(name: "MoDEModels", dependencies: ["MoDENN", "MoDETokenizers", "MoDEFormats", "CMoDEKernels",
                                                   .product(name: "RealModule", package: "swift-numerics")]),

        // MARK: MoDEData — real-data IO: tar/WebDataset shards, images, the loader, benchmark tasks
        .target(name: "MoDEData", dependencies: ["MoDETensor", "MoDEFormats", "CMoDECodecs", "CMoDEKernels"]),

        // MARK: MoDESynth — the procedural image–caption corpus and its zero-shot tasks
        .target(name: "MoDESynth", dependencies: ["MoDEData"]),

        // MARK: MoDEClustering — balanced k-means (in memory and streamed), two-level hierarchy, nearest centres
        .target(name: "MoDEClustering", dependencies: ["MoDETensor", "MoDEFormats", "CMoDEKernels"]),

        // MARK: MoDE — training, the shard pipeline, routing, ensembles, evaluation, benchmarks
        .target(name: "MoDE",
                dependencies: ["MoDEModels", "MoDEData", "MoDESynth", "MoDETokenizers", "MoDENN", "MoDEClustering", "MoDEFormats"]),

        // MARK: MoDEServe — `mode serve`: the serving engine (batching, caches) and its Hummingbird application
        .target(name: "MoDEServe", dependencies: ["MoDE", .product(name: "Hummingbird", package: "hummingbird"),
                                                 .product(name: "Prometheus", package: "swift-prometheus"),
                                                 .product(name: "CoreMetrics", package: "swift-metrics"),
                                                 .product(name: "NIOCore", package: "swift-nio")]),

        // MARK: CLI — the `mode` executable (thin: parse, one library call, print)
        .executableTarget(
            name: "ModeCLI",
            dependencies: ["MoDE", "MoDEServe", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // MARK: Tests — one target per library target, plus shared helpers
        .target(name: "TestSupport", dependencies: ["MoDETensor", "MoDEFormats"], path: "Tests/TestSupport"),
        .testTarget(name: "MoDETensorTests", dependencies: ["MoDETensor", "CMoDEKernels", "TestSupport"]),
        .testTarget(name: "MoDEFormatsTests", dependencies: ["MoDEFormats", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "MoDENNTests", dependencies: ["MoDENN", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "MoDEModelsTests", dependencies: ["MoDEModels", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "MoDEDataTests", dependencies: ["MoDEData", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MoDESynthTests", dependencies: ["MoDESynth", "TestSupport"]),
        .testTarget(name: "MoDETokenizersTests", dependencies: ["MoDETokenizers", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MoDEClusteringTests", dependencies: ["MoDEClustering", "TestSupport"]),
        .testTarget(name: "MoDETests", dependencies: ["MoDE", "TestSupport"]),
        .testTarget(name: "MoDEServeTests", dependencies: ["MoDEServe", "TestSupport",
                                                          .product(name: "HummingbirdTesting", package: "hummingbird")]),
    ],
    swiftLanguageModes: [.v5]
)
