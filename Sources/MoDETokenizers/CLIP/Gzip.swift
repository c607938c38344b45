import CMoDEZlib

/// A gzip stream that cannot be decompressed: what was wrong and where.
public struct GzipError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// gzip (RFC 1952) decompression through the system zlib: one or more members, each checked
/// against its CRC-32 and length.
public enum Gzip {
    /// True when `data` starts with the gzip magic bytes 1f 8b.
    public static func isGzip(_ data: [UInt8]) -> Bool {
        data.count >= 2 && data[0] == 0x1F && data[1] == 0x8B
    }

    /// Decompresses every member of a gzip file. Bytes after the last member that do not start
    /// another one (some writers pad with zeros) are ignored. Throws `GzipError` on a bad header,
    /// corrupt deflate data, a CRC-32 or length mismatch, or a truncated stream.
    public static func decompress(_ data: [UInt8]) throws -> [UInt8] {
        guard isGzip(data) else { throw GzipError(description: "not a gzip stream (no 1f 8b magic at byte 0)") }
        guard data.count <= Int(UInt32.max) else { throw GzipError(description: "gzip input over 4 GiB") }
        var stream = z_stream()
        guard mode_inflate_init_gzip(&stream) == Z_OK else { throw GzipError(description: "zlib could not start") }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 16
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var out: [UInt8] = []
        out.reserveCapacity(data.count * 4)
        return try data.withUnsafeBufferPointer { input in
            let base = input.baseAddress!
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = UInt32(input.count)
            var memberStart = 0
            while true {
                stream.next_out = buffer
                stream.avail_out = UInt32(chunk)
                let rc = inflate(&stream, Z_NO_FLUSH)
                out.append(contentsOf: UnsafeBufferPointer(start: buffer, count: chunk - Int(stream.avail_out)))
                let at = input.count - Int(stream.avail_in)
                switch rc {
                case Z_STREAM_END:
                    // Another member follows only if its magic bytes do.
                    guard at + 2 <= input.count, base[at] == 0x1F, base[at + 1] == 0x8B else { return out }
                    guard inflateReset(&stream) == Z_OK else { throw GzipError(description: "zlib could not restart at byte \(at)") }
                    memberStart = at
                case Z_OK, Z_BUF_ERROR:
                    // More output room was all it needed, unless the input is used up.
                    if stream.avail_in == 0 && stream.avail_out != 0 {
                        throw GzipError(description: "gzip stream truncated (member at byte \(memberStart) ends early, after \(input.count) bytes)")
                    }
                case Z_MEM_ERROR:
                    throw GzipError(description: "out of memory while decompressing")
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "error \(rc)"
                    throw GzipError(description: "corrupt gzip data in the member at byte \(memberStart), near byte \(at): \(reason)")
                }
            }
        }
    }
}
