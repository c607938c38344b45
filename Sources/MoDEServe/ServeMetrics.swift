import Foundation
import Hummingbird
import Prometheus

/// The server's Prometheus metrics, in a registry of its own (`GET /metrics`): requests and
/// their latency per endpoint and status, images per forward pass, the queue depth, and the
/// class-embedding cache's hits and misses.
public final class ServeMetrics: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    /// The endpoints counted under their own path; any other path is counted as "other".
    static let endpoints: Set<String> = ["/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/classify", "/v1/route", "/v1/embed/text", "/v1/embed/image"]
    private let batches: ValueHistogram
    private let queue: Gauge
    private let hits: Counter
    private let misses: Counter
    private let lock = NSLock()
    private var reported = (hits: 0, misses: 0)

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        batches = registry.makeValueHistogram(descriptor: Self.name("batch", "images", "Images per forward pass of the batching worker"),
                                              buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256])
        queue = registry.makeGauge(descriptor: Self.name("queue", "images", "Images waiting for the batching worker"))
        hits = registry.makeCounter(descriptor: Self.name("class_cache_hits", "total", "Label sets found in the class-embedding cache"))
        misses = registry.makeCounter(descriptor: Self.name("class_cache_misses", "total", "Label sets embedded anew"))
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mode", subsystem: "serve", metricName: metric, unitName: unit, helpText: help)
    }

    /// Counts one answered request.
    func request(path: String, status: Int, seconds: Double) {
        let endpoint = Self.endpoints.contains(path) ? path : "other"
        registry.makeCounter(descriptor: Self.name("requests", "total", "Requests answered, per endpoint and status"),
                             labels: [("endpoint", endpoint), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: Self.name("request", "seconds", "Seconds from request to answer, per endpoint"),
                                    labels: [("endpoint", endpoint)],
                                    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]).record(seconds)
    }

    /// Records the images of one forward pass.
    func batch(_ images: Int) { batches.record(Double(images)) }

    /// The Prometheus text of every metric, the engine's queue and cache read now.
    func exposition(_ engine: ServeEngine?) -> String {
        if let engine {
            queue.set(Double(engine.queueDepth))
            let (h, m) = engine.cacheStats
            lock.lock()
            let dh = h - reported.hits, dm = m - reported.misses
            reported = (h, m)
            lock.unlock()
            if dh > 0 { hits.increment(by: Int64(dh)) }
            if dm > 0 { misses.increment(by: Int64(dm)) }
        }
        return registry.emitToString()
    }
}

/// Counts every request and its latency in `ServeMetrics` (outermost, so errors are counted
/// with the status they are answered with).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        do {
            let response = try await next(request, context)
            metrics.request(path: request.uri.path, status: response.status.code, seconds: seconds())
            return response
        } catch {
            let status = (error as? HTTPResponseError)?.status.code ?? 500
            metrics.request(path: request.uri.path, status: status, seconds: seconds())
            throw error
        }
    }
}
