import Foundation

/// One regular file of a tar archive.
public struct TarEntry: Sendable {
    public var name: String
    public var data: [UInt8]
}

/// Why part of an archive was skipped.
public enum TarDamage: String, Sendable, CaseIterable, Codable {
    /// A header block whose checksum did not match; the reader searched forward for the next header.
    case badHeader = "bad_header"
    /// The archive ended inside a header or a member's data.
    case truncated
    /// A pax or GNU long-name record that could not be parsed.
    case badExtendedHeader = "bad_extended_header"
    /// A member larger than the reader's limit.
    case oversized
}

/// A streaming tar reader: reads one member at a time through a fixed-size buffer, never the
/// whole archive. Understands ustar, GNU (long names `L`, base-256 sizes) and pax (`x`: path and
/// size; `g` is read and ignored). Damage is counted in `damage` and skipped, never fatal: after a
/// bad header it resynchronises on the next block that holds a valid header.
public final class TarReader {
    public let path: String
    /// Counts of what was skipped, by reason.
    public private(set) var damage: [TarDamage: Int] = [:]
    /// Members larger than this many bytes are skipped (counted as `oversized`).
    public var maxMemberBytes: Int

    private let fd: Int32
    private var buffer: [UInt8]
    private var bufStart = 0
    private var bufEnd = 0
    private var eof = false
    private var finished = false

    /// Opens `path`; throws a `DataError` naming the file when it cannot be opened.
    public init(path: String, bufferSize: Int = 1 << 20, maxMemberBytes: Int = 256 << 20) throws {
        self.path = path
        self.maxMemberBytes = maxMemberBytes
        fd = open(path, O_RDONLY)
        if fd < 0 { throw DataError.unreadable(path, String(cString: strerror(errno))) }
        buffer = [UInt8](repeating: 0, count: max(bufferSize, 4096))
    }

    deinit { close(fd) }

    private func note(_ d: TarDamage) { damage[d, default: 0] += 1 }

    /// Makes at least `n` bytes available (fewer only at end of file). Returns the count available.
    private func fill(_ n: Int) -> Int {
        if bufEnd - bufStart >= n || eof { return bufEnd - bufStart }
        if bufStart > 0 {
            let live = bufEnd - bufStart
            buffer.withUnsafeMutableBytes { b in
                _ = memmove(b.baseAddress!, b.baseAddress! + bufStart, live)
            }
            bufStart = 0
            bufEnd = live
        }
        if n > buffer.count { buffer += [UInt8](repeating: 0, count: n - buffer.count) }
        while bufEnd < n && !eof {
            let got = buffer.withUnsafeMutableBytes { b in read(fd, b.baseAddress! + bufEnd, b.count - bufEnd) }
            if got > 0 { bufEnd += got } else if got == 0 || errno != EINTR { eof = true }
        }
        return bufEnd - bufStart
    }

    /// Reads exactly `n` bytes, or nil at end of file (the partial bytes are consumed).
    private func take(_ n: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(n)
        var need = n
        while need > 0 {
            let avail = fill(min(need, buffer.count))
            if avail == 0 { return nil }
            let k = min(avail, need)
            out.append(contentsOf: buffer[bufStart..<(bufStart + k)])
            bufStart += k
            need -= k
        }
        return out
    }

    /// Skips `n` bytes; false when the file ended first.
    private func skip(_ n: Int) -> Bool {
        var need = n
        while need > 0 {
            let avail = fill(min(need, buffer.count))
            if avail == 0 { return false }
            let k = min(avail, need)
            bufStart += k
            need -= k
        }
        return true
    }

    private static func padded(_ n: Int) -> Int { (n + 511) / 512 * 512 }

    /// The next regular file, or nil at the end of the archive.
    public func next() -> TarEntry? {
        var longName: String?
        var paxPath: String?
        var paxSize: Int?
        while !finished {
            guard fill(512) >= 512 else {
                if bufEnd - bufStart > 0 { note(.truncated) }
                finished = true
                return nil
            }
            let header = Array(buffer[bufStart..<(bufStart + 512)])
            if header.allSatisfy({ $0 == 0 }) {
                bufStart += 512
                // Two zero blocks end the archive; a single one is tolerated.
                if fill(512) >= 512, buffer[bufStart..<(bufStart + 512)].allSatisfy({ $0 == 0 }) {
                    finished = true
                    return nil
                }
                continue
            }
            guard let h = TarHeader(header) else {
                // Not a header: count once, then scan forward block by block for the next one.
                note(.badHeader)
                bufStart += 512
                while fill(512) >= 512 {
                    let block = Array(buffer[bufStart..<(bufStart + 512)])
                    if TarHeader(block) != nil { break }
                    bufStart += 512
                }
                longName = nil; paxPath = nil; paxSize = nil
                continue
            }
            bufStart += 512
            let size = (h.type == "x" ? nil : paxSize) ?? h.size
            switch h.type {
            case "L", "x", "g", "K":
                guard size <= 1 << 20 else {
                    note(.badExtendedHeader)
                    if !skip(TarReader.padded(size)) { note(.truncated); finished = true }
                    continue
                }
                guard let body = take(size), skip(TarReader.padded(size) - size) else {
                    note(.truncated); finished = true; return nil
                }
                if h.type == "L" {
                    longName = String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)
                } else if h.type == "x" {
                    guard let recs = TarHeader.paxRecords(body) else { note(.badExtendedHeader); continue }
                    if let p = recs["path"] { paxPath = p }
                    if let s = recs["size"] { if let v = Int(s), v >= 0 { paxSize = v } else { note(.badExtendedHeader) } }
                }
            case "0", "\0", "7":
                let name = paxPath ?? longName ?? h.name
                longName = nil; paxPath = nil; paxSize = nil
                if size > maxMemberBytes {
                    note(.oversized)
                    if !skip(TarReader.padded(size)) { note(.truncated); finished = true }
                    continue
                }
                guard let data = take(size) else { note(.truncated); finished = true; return nil }
                if !skip(TarReader.padded(size) - size) { note(.truncated); finished = true }
                return TarEntry(name: name, data: data)
            default:
                // Directories, links, devices: no content of interest.
                longName = nil; paxPath = nil; paxSize = nil
                if !skip(TarReader.padded(size)) { note(.truncated); finished = true }
            }
        }
        return nil
    }
}

/// A parsed 512-byte tar header (ustar / GNU / v7). Fails when the checksum does not match.
struct TarHeader {
    var name: String
    var size: Int
    var type: Character

    init?(_ b: [UInt8]) {
        guard b.count == 512 else { return nil }
        guard let stored = TarHeader.octal(b[148..<156]) else { return nil }
        var unsigned = 0
        var signed = 0
        for i in 0..<512 {
            let v = (148..<156).contains(i) ? 32 : b[i]
            unsigned += Int(v)
            signed += Int(Int8(bitPattern: v))
        }
        guard stored == unsigned || stored == signed else { return nil }
        guard let size = TarHeader.number(b[124..<136]) else { return nil }
        self.size = size
        type = Character(UnicodeScalar(b[156]))
        var name = TarHeader.string(b[0..<100])
        let magic = Array(b[257..<263])
        if magic == Array("ustar\0".utf8) {
            let prefix = TarHeader.string(b[345..<500])
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        self.name = name
    }

    static func string(_ s: ArraySlice<UInt8>) -> String {
        String(decoding: s.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field (NUL/space terminated, leading spaces allowed).
    static func octal(_ s: ArraySlice<UInt8>) -> Int? {
        var v = 0
        var seen = false
        for c in s {
            if c == 0 || (c == 32 && seen) { break }
            if c == 32 { continue }
            guard c >= 48 && c <= 55 else { return nil }
            v = v * 8 + Int(c - 48)
            seen = true
            if v > Int(Int32.max) * 1024 { return nil }
        }
        return seen ? v : 0
    }

    /// A numeric field: octal, or GNU base-256 when the first byte has its high bit set.
    static func number(_ s: ArraySlice<UInt8>) -> Int? {
        guard let first = s.first else { return nil }
        if first & 0x80 != 0 {
            var v = Int(first & 0x7f)
            for c in s.dropFirst() {
                guard v < (1 << 48) else { return nil }
                v = v << 8 | Int(c)
            }
            return v
        }
        return octal(s)
    }

    /// Parses pax records `"LEN key=value\n"`; nil when malformed.
    static func paxRecords(_ body: [UInt8]) -> [String: String]? {
        var out: [String: String] = [:]
        var i = 0
        while i < body.count {
            if body[i] == 0 { break }
            var j = i
            var len = 0
            while j < body.count, body[j] >= 48, body[j] <= 57 { len = len * 10 + Int(body[j] - 48); j += 1 }
            guard j < body.count, body[j] == 32, len > j - i + 1, i + len <= body.count, body[i + len - 1] == 10 else { return nil }
            let rec = body[(j + 1)..<(i + len - 1)]
            guard let eq = rec.firstIndex(of: 61) else { return nil }
            out[String(decoding: rec[rec.startIndex..<eq], as: UTF8.self)] = String(decoding: rec[(eq + 1)...], as: UTF8.self)
            i += len
        }
        return out
    }
}

/// A data-layer failure that stops the operation (as opposed to damage that is counted and skipped).
public enum DataError: Error, CustomStringConvertible, Equatable {
    case unreadable(String, String)
    case noShards(String)
    case invalid(String, String)

    public var description: String {
        switch self {
        case .unreadable(let p, let why): return "\(p): cannot read: \(why)"
        case .noShards(let spec): return "shard specification \(spec) matches no file"
        case .invalid(let p, let why): return "\(p): \(why)"
        }
    }
}
