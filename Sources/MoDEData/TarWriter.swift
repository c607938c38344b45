import Foundation
import MoDEFormats

/// Writes a ustar archive (pax `x` records for names longer than 100 bytes) to a file, member by
/// member. `finish()` writes the end blocks, fsyncs and renames the temporary file onto `path`,
/// so a shard is either complete or absent. Missing parent folders are created.
public final class TarWriter {
    public let path: String
    private let tmpPath: String
    private let handle: FileHandle
    private var finished = false
    /// Modification time recorded in headers (fixed, so shards are reproducible).
    public var mtime: Int = 0

    public init(path: String) throws {
        self.path = path
        tmpPath = path + ".tmp-\(getpid())"
        let dir = FilePaths.parent(path)
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        guard FileManager.default.createFile(atPath: tmpPath, contents: nil) else {
            throw DataError.unreadable(tmpPath, "cannot create file")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmpPath))
    }

    deinit {
        if !finished {
            try? handle.close()
            unlink(tmpPath)
        }
    }

    /// Appends a regular file `name` with `data`.
    public func add(_ name: String, _ data: [UInt8]) throws {
        var nameField = name
        if name.utf8.count > 100 {
            let rec = TarWriter.paxRecord("path", name)
            try writeHeader(name: "PaxHeader/" + String(name.suffix(80)), size: rec.count, type: "x")
            try writePadded(rec)
            nameField = String(decoding: name.utf8.suffix(100), as: UTF8.self)
        }
        try writeHeader(name: nameField, size: data.count, type: "0")
        try writePadded(data)
    }

    /// Appends raw bytes (for tests that build damaged archives).
    public func addRaw(_ bytes: [UInt8]) throws { try handle.write(contentsOf: Data(bytes)) }

    /// Ends the archive and moves it into place atomically.
    public func finish() throws {
        try handle.write(contentsOf: Data(count: 1024))
        try handle.synchronize()
        try handle.close()
        finished = true
        if rename(tmpPath, path) != 0 {
            let why = String(cString: strerror(errno))
            unlink(tmpPath)
            throw DataError.unreadable(path, "cannot rename into place: \(why)")
        }
    }

    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var len = body.utf8.count + 1
        while String(len).count + body.utf8.count != len { len = String(len).count + body.utf8.count }
        return Array((String(len) + body).utf8)
    }

    /// A 512-byte ustar header with a valid checksum.
    static func header(name: String, size: Int, type: Character, mtime: Int) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ at: Int, _ width: Int) {
            for (i, b) in s.utf8.prefix(width).enumerated() { h[at + i] = b }
        }
        func octal(_ v: Int, _ at: Int, _ width: Int) {
            let s = String(v, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - s.count)) + s, at, width - 1)
        }
        put(name, 0, 100)
        octal(0o644, 100, 8)
        octal(0, 108, 8)
        octal(0, 116, 8)
        octal(size, 124, 12)
        octal(mtime, 136, 12)
        h[156] = UInt8(type.asciiValue ?? 48)
        put("ustar\0", 257, 6)
        put("00", 263, 2)
        for i in 148..<156 { h[i] = 32 }
        let sum = h.reduce(0) { $0 + Int($1) }
        let s = String(sum, radix: 8)
        put(String(repeating: "0", count: 6 - s.count) + s, 148, 6)
        h[154] = 0
        h[155] = 32
        return h
    }

    private func writeHeader(name: String, size: Int, type: Character) throws {
        try handle.write(contentsOf: Data(TarWriter.header(name: name, size: size, type: type, mtime: mtime)))
    }

    private func writePadded(_ data: [UInt8]) throws {
        try handle.write(contentsOf: Data(data))
        let pad = (512 - data.count % 512) % 512
        if pad > 0 { try handle.write(contentsOf: Data(count: pad)) }
    }
}
