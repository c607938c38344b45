import ArgumentParser
import Foundation
import MoDE

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the version, the BLAS backend in use, its library path, thread count and CPU features (JSON with --json).")

    @Flag(help: "Print one JSON object instead of text.") var json = false
    @OptionGroup(title: "Compute") var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        let info = try SystemInfo.current()
        if json {
            try printJSONLine(info)
        } else {
            print("mode:      \(info.version)")
            print("blas:      \(info.blas)")
            print("path:      \(info.blasPath)")
            print("threads:   \(info.threads) (cores available: \(info.cores); set MODE_THREADS or --threads to change)")
            print("cpu:       \(info.cpu) (\(info.cpuVendor))")
            print("features:  \(info.cpuFeatures.joined(separator: " "))")
        }
    }
}
