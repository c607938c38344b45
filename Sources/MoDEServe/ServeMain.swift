import CoreMetrics
import Foundation
import Hummingbird
import MoDE
import Prometheus

/// `mode serve` as a library call: listens at once (`/readyz` answers 503 while loading), loads
/// the models on a background thread, then serves until SIGTERM or SIGINT, which stop it
/// gracefully (in-flight requests finish; Hummingbird's service lifecycle).
public enum ServeMain {
    /// Serves `config` over HTTP with `options`; `log` is told the address, then whether the
    /// models loaded. Blocks until the server stops.
    public static func run(_ config: ServeConfig, options: HTTPOptions, log: @escaping @Sendable (String) -> Void) throws {
        try config.validate()
        guard options.idleTimeoutSeconds > 0 else { throw ServeError.invalidOption("--idle-timeout-s must be positive") }
        guard options.maxBodyBytes > 0 else { throw ServeError.invalidOption("--max-body-mb must be positive") }
        guard (1...65535).contains(options.port) || options.port == 0 else { throw ServeError.invalidOption("--port must lie in 0...65535") }
        let slot = EngineSlot()
        // Whatever reports through swift-metrics lands in the registry `/metrics` shows.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: slot.metrics.registry))
        let app = ServeRoutes.application(slot, options: options)
        Thread.detachNewThread {
            do {
                let start = Date()
                let engine = try ServeEngine(models: ServeModels.load(config.source), config: config)
                slot.set(engine)
                log("models loaded (\(engine.models.experts.count) expert(s)) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s; ready")
            } catch {
                slot.fail("\(error)")
                log("error: \(error)")
            }
        }
        log("listening on http://\(options.host):\(options.port)")
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do { try await app.runService() } catch { failure.set(error) }
            done.signal()
        }
        done.wait()
        if let e = failure.get() { throw e }
    }
}

/// The error a server task ended with.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.lock(); error = e; lock.unlock() }
    func get() -> Error? { lock.lock(); defer { lock.unlock() }; return error }
}
