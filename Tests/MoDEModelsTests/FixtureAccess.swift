import Foundation
import MoDEModels
import MoDENN
import TestSupport
import MoDEFormats

/// Opens Tests/MoDEModelsTests/Fixtures/`name`.safetensors.
func fixture(_ name: String) throws -> SafeTensorsFile { try TestSupport.fixture(name, in: .module) }

/// The path of folder Tests/MoDEModelsTests/Fixtures/`name` (e.g. a model directory).
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
