import Testing
@testable import MoDENN
