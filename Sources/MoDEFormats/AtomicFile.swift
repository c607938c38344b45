#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// `write(2)`, named apart from `Output.write`.
@inline(__always)
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

/// A failed atomic write: which file, which step, and the system error.
public struct AtomicFileError: Error, CustomStringConvertible, Equatable {
    /// The target path of the write.
    public let path: String
    /// The step that failed, e.g. "create a temporary file", "write", "rename".
    public let operation: String
    /// The `errno` value reported by the system.
    public let code: Int32

    public var description: String { "\(path): cannot \(operation): \(String(cString: strerror(code)))" }
}

/// Writes files all-or-nothing: the data goes to a temporary file in the target's directory,
/// which is flushed to disk (fsync), renamed over the target, and the directory is flushed.
/// Readers see either the old file or the complete new one, never a partial file; on any error
/// the temporary file is removed and the target is left untouched. A symbolic link at the target
/// is replaced by the new file (the link is not followed).
public enum AtomicFile {
    /// Sequential output to the temporary file, handed to the body of `write(to:_:)`.
    public struct Output {
        /// The open file descriptor (write-only), for callers that need it directly.
        public let fd: Int32
        let path: String

        /// Appends `bytes` to the file.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard var p = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                let n = systemWrite(fd, p, min(left, 1 << 30))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw AtomicFileError(path: path, operation: "write", code: errno)
                }
                p += n
                left -= n
            }
        }

        /// Appends `bytes` to the file.
        public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

        /// Appends `data` to the file.
        public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }
    }

    /// Atomically replaces the file at `path` with `bytes`.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { try $0.write(bytes) }
    }

    /// Atomically replaces the file at `path` with `data`.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { try $0.write(data) }
    }

    /// Atomically replaces the file at `path` with whatever `body` writes to its `Output`.
    /// If `body` throws, nothing is changed at `path` and its error is rethrown.
    public static func write(to path: String, _ body: (Output) throws -> Void) throws {
        let directory = directoryOf(path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        var fd: Int32 = -1
        var temp = ""
        for _ in 0..<16 {  // retry on a (very unlikely) name collision
            temp = directory + "/." + base + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        if fd < 0 { throw AtomicFileError(path: path, operation: "create a temporary file in \(directory)", code: errno) }

        var isOpen = true
        do {
            try body(Output(fd: fd, path: path))
            if fsync(fd) != 0 { throw AtomicFileError(path: path, operation: "flush (fsync)", code: errno) }
            isOpen = false
            if close(fd) != 0 { throw AtomicFileError(path: path, operation: "close", code: errno) }
            if rename(temp, path) != 0 { throw AtomicFileError(path: path, operation: "rename the temporary file over it", code: errno) }
        } catch {
            if isOpen { close(fd) }
            unlink(temp)
            throw error
        }
        // The new file is in place; make the rename itself durable. Some file systems cannot
        // fsync a directory (EINVAL); that is not an error of this write.
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw AtomicFileError(path: path, operation: "open directory \(directory)", code: errno) }
        defer { close(dfd) }
        if fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP {
            throw AtomicFileError(path: path, operation: "flush directory \(directory)", code: errno)
        }
    }

    /// The directory part of `path` ("." when there is none).
    static func directoryOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = path[..<slash]
        return dir.isEmpty ? "/" : String(dir)
    }
}
