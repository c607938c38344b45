// swift-tools-version:6.0
// An example package that takes MoDE as a versioned dependency, the way a user's package does.
// scripts/check_consumer.sh builds it against a temporary tagged clone of this repository
// (MODE_PACKAGE_URL); without it, the repository two folders up, which then needs a 0.x tag.
import PackageDescription

let modeURL = Context.environment["MODE_PACKAGE_URL"] ?? "file://\(Context.packageDirectory)/../.."

let package = Package(
    name: "Consumer",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: modeURL, from: "0.1.0"),
    ],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: "MoDE", package: "MoDE")]),
    ],
    swiftLanguageModes: [.v5]
)
