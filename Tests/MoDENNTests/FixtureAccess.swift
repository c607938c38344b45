import Foundation
import MoDENN
import TestSupport
import MoDEFormats

/// Opens Tests/MoDENNTests/Fixtures/`name`.safetensors.
func fixture(_ name: String) throws -> SafeTensorsFile { try TestSupport.fixture(name, in: .module) }
