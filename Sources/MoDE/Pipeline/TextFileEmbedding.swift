import Foundation
import MoDEData
import MoDEFormats
import MoDEModels
import MoDETensor

/// `mode embed --text-file`: the captions of a text file (one per line) embedded into one
/// safetensors file: `features` F32 (N, D), each row L2-normalised, and `lines` I64 (N), the
/// 1-based line number of each caption. Metadata: model, pooling, max_length, count,
/// skipped_blank_lines, text_file.
public enum TextFileEmbedding {
    /// What one run wrote (the JSON line of `mode embed --text-file`).
    public struct Result: Codable, Sendable, Equatable {
        public var out: String
        public var captions: Int
        public var dimension: Int
        public var skippedBlankLines: Int
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case out, captions, dimension, skippedBlankLines = "skipped_blank_lines", seconds
        }
    }

    /// Embeds the lines of `textFile` with `encoder` and writes `out` atomically. A blank line is
    /// an error naming it, unless `skipBlank`: then it is skipped and counted. `progress` gets the
    /// captions done.
    public static func run(textFile: String, out: String, encoder: SentenceEncoder, batch: Int = 64, skipBlank: Bool = false,
                           progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        guard batch >= 1 else { throw PipelineError.invalid("--batch must be at least 1") }
        let start = Date()
        let captions = try CaptionLines.read(textFile, skipBlank: skipBlank)
        let features = withoutActuallyEscaping(progress) { progress in
            encoder.embed(captions.texts, batchSize: batch) { progress($0, captions.texts.count) }
        }
        var w = SafeTensorsWriter()
        w.add("features", features)
        w.add("lines", int64s: captions.lines.map(Int64.init), shape: [captions.lines.count])
        try w.write(to: out, metadata: [
            "model": encoder.directory, "pooling": encoder.spec.pooling.rawValue, "max_length": String(encoder.spec.maxLength),
            "count": String(captions.texts.count), "skipped_blank_lines": String(captions.skipped), "text_file": textFile,
        ])
        return Result(out: out, captions: captions.texts.count, dimension: encoder.dimension, skippedBlankLines: captions.skipped,
                      seconds: (Date().timeIntervalSince(start) * 100).rounded() / 100)
    }
}

extension EmbedSummary {
    /// The JSON line of `mode embed --shards`.
    public struct Line: Codable, Sendable, Equatable {
        public var out: String
        public var filesWritten: Int
        public var alreadyDone: Int
        public var captions: Int
        public var skipped: [String: Int]
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case out, filesWritten = "files_written", alreadyDone = "already_done", captions, skipped, seconds
        }
    }

    /// This summary as the JSON line for output folder `out`.
    public func line(out: String) -> Line {
        Line(out: out, filesWritten: written.count, alreadyDone: alreadyDone, captions: captions, skipped: skipped,
             seconds: (seconds * 100).rounded() / 100)
    }
}
