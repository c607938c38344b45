import Foundation
import MoDEFormats
import TestSupport

/// Opens Tests/MoDEFormatsTests/Fixtures/`name`.safetensors.
func fixture(_ name: String) throws -> SafeTensorsFile { try TestSupport.fixture(name, in: .module) }
