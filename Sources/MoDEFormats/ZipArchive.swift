#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CMoDEZlib

/// A file mapped read-only into memory, unmapped when the object goes.
final class MappedFile: @unchecked Sendable {
    let path: String
    let bytes: UnsafeRawBufferPointer
    /// Whether `bytes` is an allocated copy rather than a mapping.
    private let owned: Bool

    /// Opens and maps `path` (an empty file maps to an empty buffer).
    init(path: String) throws {
        self.path = path
        owned = false
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TorchCheckpointError(path: path, .system(operation: "open", code: errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TorchCheckpointError(path: path, .system(operation: "stat", code: errno)) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw TorchCheckpointError(path: path, .notARegularFile) }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw TorchCheckpointError(path: path, .system(operation: "mmap", code: errno))
        }
        bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(m), count: size)
    }

    /// A private copy of `contents`, presented as the file `path` (for tests of many small inputs).
    init(path: String, contents: [UInt8]) {
        self.path = path
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(contents.count, 1), alignment: 64)
        contents.withUnsafeBytes { copy.copyMemory(from: $0) }
        bytes = UnsafeRawBufferPointer(rebasing: copy[0..<contents.count])
        owned = true
    }


    deinit {
        guard let base = bytes.baseAddress else { return }
        if owned { base.deallocate() } else { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}

/// One member of a zip archive, as its central directory and local header describe it.
struct ZipEntry: Equatable {
    var name: String
    /// 0 (stored) or 8 (deflate).
    var method: UInt16
    var crc32: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    /// Start of the entry's (compressed) data in the file.
    var dataOffset: Int
}

/// The directory of a zip archive (PKWARE APPNOTE, with ZIP64), parsed from a mapping with every
/// offset and size checked against the file. Entries are not decompressed here.
struct ZipArchive {
    let entries: [ZipEntry]
    private let index: [String: Int]

    /// The entry named `name`, or nil.
    func entry(_ name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// Parses the archive in `file`; `fail` turns a reason into the caller's error.
    init(_ file: UnsafeRawBufferPointer, fail: @escaping (String) -> Error) throws {
        let r = ByteReader(file, fail: fail)
        // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the end.
        guard file.count >= 22 else { throw fail("file is \(file.count) bytes, too short for a zip directory") }
        var eocd = -1
        var at = file.count - 22
        while at >= max(0, file.count - 22 - 65535) {
            if try r.u32(at) == 0x0605_4b50 && at + 22 + Int(try r.u16(at + 20)) == file.count { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record") }
        var entryCount = Int(try r.u16(eocd + 10))
        var directorySize = Int(try r.u32(eocd + 12))
        var directoryOffset = Int(try r.u32(eocd + 16))
        guard try r.u16(eocd + 4) == 0 || r.u16(eocd + 4) == 0xFFFF else { throw fail("multi-disk archives are not supported") }
        // ZIP64: a locator just before the record points at the ZIP64 end-of-directory record.
        if eocd >= 20, try r.u32(eocd - 20) == 0x0706_4b50 {
            let recordOffset = try r.int64(eocd - 20 + 8, "ZIP64 end-of-directory offset")
            guard recordOffset <= eocd - 20 - 56, try r.u32(recordOffset) == 0x0606_4b50 else {
                throw fail("ZIP64 end-of-directory record missing at offset \(recordOffset)")
            }
            guard try r.u32(recordOffset + 16) == 0, try r.u32(recordOffset + 20) == 0 else {
                throw fail("multi-disk archives are not supported")
            }
            entryCount = try r.int64(recordOffset + 32, "ZIP64 entry count")
            directorySize = try r.int64(recordOffset + 40, "ZIP64 directory size")
            directoryOffset = try r.int64(recordOffset + 48, "ZIP64 directory offset")
        }
        guard directoryOffset <= eocd, directorySize <= eocd - directoryOffset else {
            throw fail("central directory (offset \(directoryOffset), \(directorySize) bytes) does not fit before its end record")
        }
        // Each directory record is at least 46 bytes, so the count is bounded by the size.
        guard entryCount <= directorySize / 46 else {
            throw fail("\(entryCount) entries cannot fit in a \(directorySize)-byte central directory")
        }
        var entries: [ZipEntry] = []
        entries.reserveCapacity(entryCount)
        var index: [String: Int] = [:]
        var p = directoryOffset
        let end = directoryOffset + directorySize
        for i in 0..<entryCount {
            guard p <= end - 46, try r.u32(p) == 0x0201_4b50 else { throw fail("central directory record \(i) missing at offset \(p)") }
            let flags = try r.u16(p + 8)
            let method = try r.u16(p + 10)
            let nameLength = Int(try r.u16(p + 28)), extraLength = Int(try r.u16(p + 30)), commentLength = Int(try r.u16(p + 32))
            guard p + 46 + nameLength + extraLength + commentLength <= end else {
                throw fail("central directory record \(i) runs past the directory")
            }
            guard let name = String(validating: file[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self) else {
                throw fail("entry \(i) has a name that is not UTF-8")
            }
            var compressed = Int(try r.u32(p + 20)), uncompressed = Int(try r.u32(p + 24))
            var local = Int(try r.u32(p + 42))
            // ZIP64 extended information (id 1) holds, in this order, the fields whose 32-bit value is saturated.
            var q = p + 46 + nameLength
            let extraEnd = q + extraLength
            while q + 4 <= extraEnd {
                let id = try r.u16(q), size = Int(try r.u16(q + 2))
                guard q + 4 + size <= extraEnd else { throw fail("entry \(name): extra field runs past its record") }
                if id == 1 {
                    var f = q + 4
                    func next() throws -> Int {
                        guard f + 8 <= q + 4 + size else { throw fail("entry \(name): ZIP64 extra field too short") }
                        defer { f += 8 }
                        return try r.int64(f, "entry \(name): ZIP64 size")
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if local == 0xFFFF_FFFF { local = try next() }
                }
                q += 4 + size
            }
            guard flags & 1 == 0 else { throw fail("entry \(name) is encrypted") }
            guard method == 0 || method == 8 else { throw fail("entry \(name) uses compression method \(method) (only stored and deflate are supported)") }
            guard method != 0 || compressed == uncompressed else {
                throw fail("stored entry \(name) has compressed size \(compressed) but uncompressed size \(uncompressed)")
            }
            // The local header repeats the name; its own name and extra lengths decide where data starts.
            guard local <= directoryOffset - 30, try r.u32(local) == 0x0403_4b50 else {
                throw fail("entry \(name): no local header at offset \(local)")
            }
            let localName = Int(try r.u16(local + 26)), localExtra = Int(try r.u16(local + 28))
            let data = local + 30 + localName + localExtra
            guard localName == nameLength, data <= directoryOffset,
                  file[(local + 30)..<(local + 30 + localName)].elementsEqual(file[(p + 46)..<(p + 46 + nameLength)]) else {
                throw fail("entry \(name): local header does not match the central directory")
            }
            guard compressed <= directoryOffset - data else {
                throw fail("entry \(name): \(compressed) bytes of data at offset \(data) run past the entries")
            }
            guard index[name] == nil else { throw fail("entry \(name) appears twice") }
            index[name] = entries.count
            entries.append(ZipEntry(name: name, method: method, crc32: try r.u32(p + 16), compressedSize: compressed,
                                    uncompressedSize: uncompressed, dataOffset: data))
            p += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
        self.index = index
    }

    /// Deflate can expand data at most about 1032 times; a larger declared size is a lie.
    static let maxDeflateRatio = 1032

    /// The decompressed bytes of deflated `entry` (exactly its declared size, CRC-32 checked).
    static func inflated(_ entry: ZipEntry, in file: UnsafeRawBufferPointer, fail: (String) -> Error) throws -> [UInt8] {
        try checkRatio(entry, fail: fail)
        var out = [UInt8](repeating: 0, count: entry.uncompressedSize)
        try out.withUnsafeMutableBytes { try inflate(entry, in: file, into: $0, fail: fail) }
        return out
    }

    /// Throws unless deflated `entry`'s declared size is one deflate could produce.
    static func checkRatio(_ entry: ZipEntry, fail: (String) -> Error) throws {
        let n = entry.uncompressedSize
        guard n / maxDeflateRatio <= entry.compressedSize + 1, n <= Int(UInt32.max), entry.compressedSize <= Int(UInt32.max) else {
            throw fail("entry \(entry.name) declares \(n) bytes from \(entry.compressedSize) compressed bytes")
        }
    }

    /// Decompresses deflated `entry` into `out` (its declared size), checking the CRC-32.
    static func inflate(_ entry: ZipEntry, in file: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                        fail: (String) -> Error) throws {
        try checkRatio(entry, fail: fail)
        let n = entry.uncompressedSize
        precondition(out.count == n)
        var stream = z_stream()
        guard mode_inflate_init_raw(&stream) == Z_OK else { throw fail("zlib could not start") }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: file.baseAddress!.assumingMemoryBound(to: UInt8.self) + entry.dataOffset)
        stream.avail_in = UInt32(entry.compressedSize)
        var rc = Z_BUF_ERROR
        if n > 0 {
            stream.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            stream.avail_out = UInt32(n)
            rc = CMoDEZlib.inflate(&stream, Z_FINISH)
        }
        if rc == Z_BUF_ERROR && stream.avail_out == 0 {
            // One spare byte: the stream must end here, not give more than declared.
            var spare: UInt8 = 0
            rc = withUnsafeMutablePointer(to: &spare) { s in
                stream.next_out = s
                stream.avail_out = 1
                return CMoDEZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END, Int(stream.total_out) == n else {
            throw fail("entry \(entry.name): deflate data is corrupt or does not give its declared \(n) bytes")
        }
        guard crc32(UnsafeRawBufferPointer(out)) == entry.crc32 else { throw fail("entry \(entry.name): CRC-32 mismatch") }
    }

    /// CRC-32 of `bytes` (zip's checksum).
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt = 0
        var p = 0
        while p < bytes.count {  // zlib takes 32-bit lengths
            let n = min(bytes.count - p, 1 << 30)
            crc = CMoDEZlib.crc32(crc, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + p, UInt32(n))
            p += n
        }
        return UInt32(crc)
    }
}

/// Bounds-checked little-endian loads from a byte buffer.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let fail: (String) -> Error

    init(_ bytes: UnsafeRawBufferPointer, fail: @escaping (String) -> Error) {
        self.bytes = bytes
        self.fail = fail
    }

    func u16(_ at: Int) throws -> UInt16 { UInt16(littleEndian: try load(at, UInt16.self)) }
    func u32(_ at: Int) throws -> UInt32 { UInt32(littleEndian: try load(at, UInt32.self)) }

    /// A 64-bit size or offset, which must be a non-negative Int.
    func int64(_ at: Int, _ what: String) throws -> Int {
        let v = UInt64(littleEndian: try load(at, UInt64.self))
        guard v <= UInt64(Int.max / 2) else { throw fail("\(what) \(v) is out of range") }
        return Int(v)
    }

    private func load<T: FixedWidthInteger>(_ at: Int, _: T.Type) throws -> T {
        guard at >= 0, at <= bytes.count - MemoryLayout<T>.size else {
            throw fail("read of \(MemoryLayout<T>.size) bytes at offset \(at) is past the end of the file (\(bytes.count) bytes)")
        }
        return bytes.loadUnaligned(fromByteOffset: at, as: T.self)
    }
}
