import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

/// Encodes tensors stored in safetensors files with a CLIP model, batch by batch:
/// `images` (N, 3, S, S) floating point → `image_features` (N, E), and `texts` (N, L) int32 or
/// int64 token ids → `text_features` (N, E), unnormalised (open_clip's encode_image / encode_text).
public enum CLIPFeatureFiles {
    /// Tensor names read and written.
    public static let imagesTensor = "images", textsTensor = "texts"
    public static let imageFeaturesTensor = "image_features", textFeaturesTensor = "text_features"

    /// What `encode` did: the output file and the feature rows written (`mode encode`'s JSON line).
    public struct Summary: Sendable, Equatable, Codable {
        public var out: String = ""
        public var images: Int
        public var texts: Int

        public init(out: String = "", images: Int, texts: Int) {
            self.out = out
            self.images = images
            self.texts = texts
        }
    }

    /// Encodes the `images` tensor of file `images` and the `texts` tensor of file `texts` (either
    /// may be nil) in batches of `batch`, and writes the features to `out`. Checks both inputs'
    /// dtypes and shapes before encoding anything, and each batch's token ids before encoding it,
    /// with errors naming the file and tensor. `progress` is
    /// called with (rows done, rows in all) after each batch.
    public static func encode(model: CLIPModel, images: String?, texts: String?, out: String, batch: Int,
                              progress: ((Int, Int) -> Void)? = nil) throws -> Summary {
        precondition(batch > 0, "batch must be positive")
        let (s, l, e) = (model.config.vision.imageSize, model.config.text.contextLength, model.embedDim)
        let imageFile = try images.map { try SafeTensorsFile(path: $0) }
        let textFile = try texts.map { try SafeTensorsFile(path: $0) }
        let n = try imageFile.map { try rows(of: $0, imagesTensor, floating: true, rowShape: [3, s, s], what: "(N, 3, \(s), \(s))") } ?? 0
        let m = try textFile.map { try rows(of: $0, textsTensor, floating: false, rowShape: [l], what: "(N, \(l))") } ?? 0
        var writer = SafeTensorsWriter()
        var done = 0
        let total = n + m
        if let imageFile {
            let features = Tensor(shape: [n, e])
            let buffer = Tensor(shape: [min(batch, max(n, 1)), 3, s, s])
            for lo in stride(from: 0, to: n, by: batch) {
                let count = min(batch, n - lo)
                try readFloats(buffer.data, imageFile, imagesTensor, rowSize: 3 * s * s, rows: lo..<(lo + count))
                model.encodeImage(features.data + lo * e, buffer.data, batch: count)
                done += count
                progress?(done, total)
            }
            writer.add(imageFeaturesTensor, features)
        }
        if let textFile {
            let features = Tensor(shape: [m, e])
            var ids = [Int32](repeating: 0, count: min(batch, max(m, 1)) * l)
            for lo in stride(from: 0, to: m, by: batch) {
                let count = min(batch, m - lo)
                try ids.withUnsafeMutableBufferPointer { buf in
                    try readIDs(buf.baseAddress!, textFile, textsTensor, rowSize: l, rows: lo..<(lo + count),
                                vocabulary: model.text.vocabularySize)
                    try model.validateTokenIDs(buf.baseAddress!, count: count * l, source: "\(textFile.path): tensor \(textsTensor)",
                                               firstIndex: lo * l)
                    model.encodeText(features.data + lo * e, buf.baseAddress!, batch: count)
                }
                done += count
                progress?(done, total)
            }
            writer.add(textFeaturesTensor, features)
        }
        try writer.write(to: out, metadata: ["format": "pt", "embed_dim": String(e)])
        return Summary(out: out, images: n, texts: m)
    }

    /// The leading dimension N of tensor `name`, after checking its dtype and that its shape is
    /// (N, rowShape…).
    static func rows(of file: SafeTensorsFile, _ name: String, floating: Bool, rowShape: [Int], what: String) throws -> Int {
        guard let info = file.info(name) else {
            throw CLIPInputError.missingTensor(source: file.path, tensor: name)
        }
        let ok: Set<DType> = floating ? [.f32, .f16, .bf16, .f64] : [.i32, .i64]
        guard ok.contains(info.dtype) else {
            throw CLIPInputError.badDType(source: file.path, tensor: name, found: info.dtype.rawValue,
                                          expected: floating ? "F32 (or F16, BF16, F64)" : "I32 or I64")
        }
        guard info.shape.count == rowShape.count + 1, Array(info.shape.dropFirst()) == rowShape else {
            throw CLIPInputError.badShape(source: file.path, tensor: name, found: info.shape, expected: what)
        }
        return info.shape[0]
    }

    /// out (rows.count · rowSize) = rows `rows` of floating tensor `name`, as Float32.
    static func readFloats(_ out: UnsafeMutablePointer<Float>, _ file: SafeTensorsFile, _ name: String,
                           rowSize: Int, rows: Range<Int>) throws {
        let raw = try file.rawBytes(name)
        let dtype = file.info(name)!.dtype
        let count = rows.count * rowSize
        let src = raw.baseAddress! + rows.lowerBound * rowSize * dtype.size
        switch dtype {
        case .f32: UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: count * 4)
        case .f16: HalfFloat.f16ToFloat(out, src, count: count)
        case .bf16: HalfFloat.bf16ToFloat(out, src, count: count)
        default:
            for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        }
    }

    /// out (rows.count · rowSize) = rows `rows` of integer tensor `name` (I32 or I64), as Int32.
    static func readIDs(_ out: UnsafeMutablePointer<Int32>, _ file: SafeTensorsFile, _ name: String,
                        rowSize: Int, rows: Range<Int>, vocabulary: Int) throws {
        let raw = try file.rawBytes(name)
        let dtype = file.info(name)!.dtype
        let count = rows.count * rowSize
        let first = rows.lowerBound * rowSize
        let src = raw.baseAddress! + first * dtype.size
        if dtype == .i32 {
            UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: count * 4)
            return
        }
        for i in 0..<count {
            let v = Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
            guard let w = Int32(exactly: v) else {
                throw CLIPInputError.tokenOutOfRange(source: "\(file.path): tensor \(name)", index: first + i, id: Int(clamping: v), vocabulary: vocabulary)
            }
            out[i] = w
        }
    }
}
