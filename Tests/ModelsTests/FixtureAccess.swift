import Foundation
import Models
import NN
import TestSupport

/// Opens Tests/ModelsTests/Fixtures/`name`.safetensors.
func fixture(_ name: String) throws -> SafeTensorsFile { try TestSupport.fixture(name, in: .module) }

/// The path of folder Tests/ModelsTests/Fixtures/`name` (e.g. a model directory).
func fixtureDirectory(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        throw FixtureFolderNotFound(name: name)
    }
    return url.path
}

/// A missing fixture folder.
struct FixtureFolderNotFound: Error, CustomStringConvertible {
    let name: String
    var description: String { "fixture folder Fixtures/\(name) not found; generate it with the matching script in tools/" }
}

/// all-MiniLM-L6-v2 is not where the tests look for it.
struct MiniLMMissing: Error, CustomStringConvertible {
    var description: String {
        "all-MiniLM-L6-v2 not found (MODE_MINILM_DIR, or .deps/minilm above the package): run scripts/fetch_minilm.sh (or make setup) first"
    }
}

/// The all-MiniLM-L6-v2 directory (`MODE_MINILM_DIR`, else `.deps/minilm` in the package);
/// throws — failing the test — when it is absent.
func miniLMDirectory() throws -> String {
    let env = ProcessInfo.processInfo.environment
    if let dir = env["MODE_MINILM_DIR"], !dir.isEmpty { return dir }
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    guard let dir = SentenceModelLocation.defaultMiniLM(environment: [:], workingDirectory: packageRoot.path, executable: nil),
          FileManager.default.fileExists(atPath: dir + "/model.safetensors") else { throw MiniLMMissing() }
    return dir
}

/// Strings stored as UTF-8 bytes (`text_bytes`) cut at `text_offsets`.
func fixtureStrings(_ f: SafeTensorsFile) throws -> [String] {
    let offsets = try f.int32s("text_offsets").map(Int.init)
    let bytes = try f.rawBytes("text_bytes")
    return (0..<(offsets.count - 1)).map { i in
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offsets[i]..<offsets[i + 1]]), as: UTF8.self)
    }
}

/// Flattened id lists `name` cut at `offsetsName`.
func fixtureIDLists(_ f: SafeTensorsFile, _ name: String, _ offsetsName: String) throws -> [[Int32]] {
    let ids = try f.int32s(name)
    let offsets = try f.int32s(offsetsName).map(Int.init)
    return (0..<(offsets.count - 1)).map { Array(ids[offsets[$0]..<offsets[$0 + 1]]) }
}
