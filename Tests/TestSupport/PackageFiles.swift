import Foundation
import MoDEFormats

/// The package's root folder (found from this source file's path).
public let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The path of `Tests/<target>/Fixtures/<name>` (a fixture file or folder of another test target).
public func fixturePath(_ target: String, _ name: String) -> String {
    packageRoot.appendingPathComponent("Tests/\(target)/Fixtures/\(name)").path
}

/// all-MiniLM-L6-v2 is not where the tests look for it.
public struct MiniLMMissing: Error, CustomStringConvertible {
    public init() {}
    public var description: String {
        "all-MiniLM-L6-v2 not found (MODE_MINILM_DIR, or .deps/minilm above the package): run scripts/fetch_minilm.sh (or make setup) first"
    }
}

/// The all-MiniLM-L6-v2 directory (`MODE_MINILM_DIR`, else `.deps/minilm` in the package);
/// throws — failing the test — when it is absent.
public func miniLMDirectory() throws -> String {
    if let dir = ProcessInfo.processInfo.environment["MODE_MINILM_DIR"], !dir.isEmpty { return dir }
    let dir = packageRoot.appendingPathComponent(".deps/minilm").path
    guard FileManager.default.fileExists(atPath: dir + "/model.safetensors") else { throw MiniLMMissing() }
    return dir
}

/// Strings stored as UTF-8 bytes (`text_bytes`) cut at `text_offsets`.
public func fixtureStrings(_ f: SafeTensorsFile) throws -> [String] {
    let offsets = try f.int32s("text_offsets").map(Int.init)
    let bytes = try f.rawBytes("text_bytes")
    return (0..<(offsets.count - 1)).map { i in
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offsets[i]..<offsets[i + 1]]), as: UTF8.self)
    }
}

/// Flattened id lists `name` cut at `offsetsName`.
public func fixtureIDLists(_ f: SafeTensorsFile, _ name: String, _ offsetsName: String) throws -> [[Int32]] {
    let ids = try f.int32s(name)
    let offsets = try f.int32s(offsetsName).map(Int.init)
    return (0..<(offsets.count - 1)).map { Array(ids[offsets[$0]..<offsets[$0 + 1]]) }
}
