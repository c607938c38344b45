import ArgumentParser
import MoDE
import Foundation

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the BLAS backend in use, its library path, thread count and CPU features (JSON with --json, with the version).")

    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let blas = try BLAS.info()
        let cpu = CPUFeatures.current
        if json {
            let obj: [String: Any] = [
                "version": modeVersion, "blas": blas.backend.rawValue, "blas_path": blas.path, "threads": blas.threads,
                "cores": BLAS.availableCores(), "cpu": cpu.model, "cpu_vendor": cpu.vendor, "blas_preference": BLAS.defaultPreference().map(\.rawValue), "cpu_features": cpu.summary,
            ]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("blas:      \(blas.backend.rawValue)")
            print("path:      \(blas.path)")
            print("threads:   \(blas.threads) (cores available: \(BLAS.availableCores()); set MODE_THREADS to change)")
            print("cpu:       \(cpu.model) (\(cpu.vendor))")
            print("features:  \(cpu.summary.joined(separator: " "))")
        }
    }
}
