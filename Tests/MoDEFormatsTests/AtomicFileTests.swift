import Foundation
import Testing
import TestSupport
@testable import MoDETensor
@testable import MoDEFormats

@Suite struct AtomicFileTests {
    @Test func writesAndReplaces() throws {
        let dir = try TempDirectory()
        let path = dir.file("a.bin")
        try AtomicFile.write([1, 2, 3], to: path)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == [1, 2, 3])
        try AtomicFile.write(Data([9]), to: path)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == [9])
        try AtomicFile.write(to: path) { out in
            try out.write([4, 5])
            try out.write(Data([6]))
            #expect(out.fd >= 0)
        }
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == [4, 5, 6])
        #expect(try dir.contents() == ["a.bin"])  // no temporary files left
    }

    struct Boom: Error {}

    @Test func failedBodyLeavesTargetUntouched() throws {
        let dir = try TempDirectory()
        let path = dir.file("keep.bin")
        try AtomicFile.write([7, 7], to: path)
        #expect(throws: Boom.self) {
            try AtomicFile.write(to: path) { out in
                try out.write([UInt8](repeating: 1, count: 100_000))
                throw Boom()
            }
        }
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == [7, 7])
        #expect(try dir.contents() == ["keep.bin"])
    }

    @Test func errorsNameThePath() throws {
        let dir = try TempDirectory()
        let missing = dir.file("no/such/dir/x.bin")
        do {
            try AtomicFile.write([1], to: missing)
            Issue.record("expected an error")
        } catch let e as AtomicFileError {
            #expect(e.path == missing && e.code == ENOENT && e.description.hasPrefix(missing + ": cannot "))
        }
        // Renaming over a non-empty directory fails; the temporary file is removed.
        let target = dir.file("d")
        try FileManager.default.createDirectory(atPath: target + "/inner", withIntermediateDirectories: true)
        do {
            try AtomicFile.write([1], to: target)
            Issue.record("expected an error")
        } catch let e as AtomicFileError {
            #expect(e.path == target && e.operation.contains("rename"))
        }
        #expect(try dir.contents() == ["d"])
        #expect(AtomicFile.directoryOf("x") == "." && AtomicFile.directoryOf("/x") == "/" && AtomicFile.directoryOf("a/b/c") == "a/b")
    }
}

@Suite struct FilePathsTests {
    /// Expected values as POSIX dirname/basename give them (and NSString for paths it handles).
    @Test func parentAndLastComponent() {
        let cases: [(String, String, String)] = [
            ("a/b/c", "a/b", "c"), ("a/b/", "a", "b"), ("/c", "/", "c"), ("c", "", "c"), ("c/", "", "c"),
            ("/", "/", "/"), ("./c", ".", "c"), ("a//b", "a", "b"), ("/a/b.json", "/a", "b.json"),
        ]
        for (path, parent, last) in cases {
            #expect(FilePaths.parent(path) == parent, "\(path)")
            #expect(FilePaths.lastComponent(path) == last, "\(path)")
        }
    }
}
