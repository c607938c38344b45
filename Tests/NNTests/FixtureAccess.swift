import Foundation
import NN
import TestSupport

/// Opens Tests/NNTests/Fixtures/`name`.safetensors.
func fixture(_ name: String) throws -> SafeTensorsFile { try TestSupport.fixture(name, in: .module) }
