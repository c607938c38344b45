import Foundation
import MoDEData
import MoDEModels
import MoDETensor

/// An image left out of an inference run, and why.
public struct SkippedImage: Codable, Sendable, Equatable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// Reads image inputs in order, a batch of (name, bytes or reason) at a time: files are read
/// when decoded (in parallel), shard samples as the shard is walked.
final class ImageBatchReader {
    enum Payload {
        case file(String)
        case bytes([UInt8])
        case unusable(String)
    }

    private let inputs: [ImageInput]
    private var next = 0
    private var shard: ShardReader?

    init(_ inputs: [ImageInput]) { self.inputs = inputs }

    /// Up to `count` items; empty at the end. A shard that cannot be opened is an error naming it.
    func read(_ count: Int) throws -> [(name: String, payload: Payload)] {
        var items: [(name: String, payload: Payload)] = []
        while items.count < count {
            if let reader = shard {
                guard let s = reader.next() else { shard = nil; continue }
                if let (ext, bytes) = sampleImage(s) {
                    items.append((reader.shard + "/" + s.key + "." + ext, .bytes(bytes)))
                } else {
                    items.append((reader.shard + "/" + s.key, .unusable("the sample has no jpg, jpeg, png or webp member")))
                }
                continue
            }
            guard next < inputs.count else { break }
            switch inputs[next] {
            case .file(let path): items.append((path, .file(path)))
            case .shard(let path): shard = try ShardReader(path: path)
            }
            next += 1
        }
        return items
    }
}

/// Image features of a model over inference inputs: each batch is read, decoded and
/// preprocessed (open_clip's eval transform) over `Parallel.threads` while no GEMM runs, then
/// encoded in one forward pass.
public enum ImageFeaturePass {
    /// What the pass reports as it goes.
    public enum Event: Sendable {
        case skipped(SkippedImage)
        /// Images done so far (encoded or skipped), and the total when known (no shards).
        case progress(done: Int, total: Int?)
    }

    /// The names (file paths, or SHARD/KEY.EXT) of the images that decoded, in input order, and
    /// their features (count, E): L2-normalised rows when `normalise`, else as `encode_image`
    /// returns them. Unusable images are reported and left out.
    public static func run(model: CLIPModel, inputs: [ImageInput], batch: Int, normalise: Bool,
                           events: (Event) -> Void = { _ in }) throws -> (names: [String], features: Tensor) {
        precondition(batch > 0, "batch must be positive")
        let s = model.config.vision.imageSize, e = model.embedDim, per = 3 * s * s
        let total: Int? = inputs.contains { if case .shard = $0 { return true } else { return false } } ? nil : inputs.count
        let reader = ImageBatchReader(inputs)
        let pixels = Tensor(shape: [batch, 3, s, s])
        let pool = PreprocessorPool(size: s)
        var names: [String] = []
        var done = 0
        var rows: [Float] = []
        let features = Tensor(shape: [batch, e])
        events(.progress(done: 0, total: total))
        while true {
            let items = try reader.read(batch)
            if items.isEmpty { break }
            var failures = [String?](repeating: nil, count: items.count)
            failures.withUnsafeMutableBufferPointer { out in
                Parallel.forEach(items.count) { r in
                    let pre = pool.take()
                    for j in r { out[j] = decode(items[j].payload, into: pixels.data + j * per, preprocessor: pre) }
                    pool.give(pre)
                }
            }
            var kept = 0
            for (j, failure) in failures.enumerated() {
                if let failure {
                    events(.skipped(SkippedImage(path: items[j].name, reason: failure)))
                    continue
                }
                if j != kept { (pixels.data + kept * per).update(from: pixels.data + j * per, count: per) }
                names.append(items[j].name)
                kept += 1
            }
            if kept > 0 {
                model.encodeImage(features.data, pixels.data, batch: kept)
                rows.append(contentsOf: UnsafeBufferPointer(start: features.data, count: kept * e))
            }
            done += items.count
            events(.progress(done: done, total: total))
        }
        let out = Tensor(shape: [names.count, e])
        if !names.isEmpty {
            rows.withUnsafeBufferPointer { out.data.update(from: $0.baseAddress!, count: rows.count) }
            if normalise {
                let norms = Tensor(shape: [names.count])
                L2Normalize.forward(out.data, norms.data, out.data, rows: names.count, cols: e)
            }
        }
        return (names, out)
    }

    /// Decodes one item into `out` (3, S, S); returns why it cannot be used, or nil.
    private static func decode(_ payload: ImageBatchReader.Payload, into out: UnsafeMutablePointer<Float>,
                               preprocessor: CLIPPreprocessor) -> String? {
        let bytes: [UInt8]
        switch payload {
        case .unusable(let why): return why
        case .bytes(let b): bytes = b
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { return "cannot read the file" }
            bytes = [UInt8](data)
        }
        do {
            preprocessor.eval(out, try decodeImage(bytes))
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// One `CLIPPreprocessor` per thread at a time (each holds scratch buffers).
final class PreprocessorPool: @unchecked Sendable {
    private let size: Int
    private var free: [CLIPPreprocessor] = []
    private let lock = NSLock()

    init(size: Int) { self.size = size }

    func take() -> CLIPPreprocessor {
        lock.lock()
        defer { lock.unlock() }
        return free.popLast() ?? CLIPPreprocessor(size: size)
    }

    func give(_ p: CLIPPreprocessor) {
        lock.lock()
        free.append(p)
        lock.unlock()
    }
}
