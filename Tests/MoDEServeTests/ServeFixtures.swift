import Foundation
import Hummingbird
import HummingbirdTesting
import MoDE
import TestSupport
@testable import MoDEServe

/// A tiny random CLIP saved in open_clip's hub layout under `dir/name`; returns its folder.
func tinyCLIP(_ dir: TempDirectory, _ name: String, seed: UInt64) throws -> String {
    let cfg = CLIPConfig(embedDim: 16, vision: .init(imageSize: 32, patchSize: 16, width: 16, layers: 1, headWidth: 8),
                         text: .init(contextLength: 16, width: 16, heads: 2, layers: 1))
    try CLIPModel(config: cfg, seed: seed).saveOpenCLIPFolder(dir.file(name))
    return dir.file(name)
}

/// Two tiny experts "a" and "b" over hand-made clusters with the tiny BERT fixture as the
/// caption encoder; returns the manifest's path.
func twoExpertManifest(_ dir: TempDirectory) throws -> String {
    let a = try tinyCLIP(dir, "a", seed: 1), b = try tinyCLIP(dir, "b", seed: 2)
    let encoder = try SentenceEncoder(directory: fixturePath("MoDEModelsTests", "tiny_bert"))
    var rng = SeededRNG(seed: 5)
    let d = encoder.dimension
    let fine = Tensor(shape: [4, d]), coarse = Tensor(shape: [2, d])
    for i in 0..<fine.count { fine.data[i] = rng.nextNormal() / Float(d).squareRoot() }
    for j in 0..<d { coarse.data[j] = (fine.data[j] + fine.data[d + j]) / 2; coarse.data[d + j] = (fine.data[2 * d + j] + fine.data[3 * d + j]) / 2 }
    try ClusterHierarchy(fineCentres: fine, coarseCentres: coarse, fineToCoarse: [0, 0, 1, 1], metric: .squaredEuclidean)
        .write(to: dir.file("clusters.safetensors"))
    let manifest = ExpertManifest(clusters: dir.file("clusters.safetensors"), embedder: encoder.directory, experts: [
        ExpertEntry(name: "a", checkpoint: a + "/open_clip_model.safetensors", config: a + "/open_clip_config.json", fine: [0, 1], coarse: 0, samplesSeen: 30),
        ExpertEntry(name: "b", checkpoint: b + "/open_clip_model.safetensors", config: b + "/open_clip_config.json", fine: [2, 3], coarse: 1, samplesSeen: 20),
    ])
    try manifest.save(dir.file("experts.json"))
    return dir.file("experts.json")
}

/// Image files of a few sizes and formats under `dir/images`, sorted by name.
func imageFiles(_ dir: TempDirectory, count: Int = 4) throws -> [String] {
    let root = dir.file("images")
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    var rng = SeededRNG(seed: 11)
    return try (0..<count).map { i in
        let image = smoothRandomImage(width: 36 + 4 * i, height: 40 + 6 * (i % 3), grid: 3 + i % 2, rng: &rng)
        let path = root + "/img\(i)." + (i % 2 == 0 ? "png" : "jpg")
        try Data(i % 2 == 0 ? encodePNG(image) : encodeJPEG(image)).write(to: URL(fileURLWithPath: path))
        return path
    }
}

func base64(_ path: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedString() }

/// A JSON request body.
func jsonBody(_ object: [String: Any]) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

/// Decodes a test response's JSON body.
func decoded<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(response.body.readableBytesView))
}

/// An engine over `source` with small test settings.
func engine(_ source: ServeConfig.Source, maxBatch: Int = 32, maxQueue: Int = 64, topExperts: Int? = nil, cache: Int = 8) throws -> ServeEngine {
    var config = ServeConfig(source: source)
    config.maxBatch = maxBatch
    config.maxQueue = maxQueue
    config.topExperts = topExperts
    config.cacheEntries = cache
    config.batchWaitMs = 1
    return try ServeEngine(models: ServeModels.load(source), config: config)
}
