import Foundation
import Hummingbird
import MoDE
import NIOCore

/// Holds the engine once the models are loaded (until then every model endpoint answers 503 and
/// `/readyz` says why), and the server's metrics.
public final class EngineSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var engine: ServeEngine?
    private var failure: String?
    public let metrics: ServeMetrics

    public init(_ engine: ServeEngine? = nil, metrics: ServeMetrics = ServeMetrics()) {
        self.metrics = metrics
        if let engine { set(engine) }
    }

    public func set(_ engine: ServeEngine) {
        engine.batcher.observe { [metrics] in metrics.batch($0) }
        lock.lock()
        self.engine = engine
        lock.unlock()
    }

    var current: ServeEngine? {
        lock.lock()
        defer { lock.unlock() }
        return engine
    }
    public func fail(_ why: String) { lock.lock(); failure = why; lock.unlock() }

    /// The engine, or `ServeError.notReady`.
    func ready() throws -> ServeEngine {
        lock.lock()
        defer { lock.unlock() }
        guard let engine else { throw ServeError.notReady }
        return engine
    }

    var state: (ready: Bool, failure: String?) {
        lock.lock()
        defer { lock.unlock() }
        return (engine != nil, failure)
    }
}

/// The HTTP side of `mode serve`: host, port, body limit and the bearer token.
public struct HTTPOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var maxBodyBytes = 32 << 20
    /// With a token, every endpoint but `/healthz` (and the page) needs `Authorization: Bearer TOKEN`.
    public var token: String?
    /// Seconds a connection may stay idle (a client that stops sending or reading) before it is closed.
    public var idleTimeoutSeconds = 30

    public init() {}

    /// The token of a token file (its first line, trimmed); an empty file is an error naming it.
    public static func readToken(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ServeError.invalidOption("\(path): cannot read the token file")
        }
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !token.isEmpty else { throw ServeError.invalidOption("\(path): the token file is empty") }
        return token
    }
}

/// The routes of `mode serve` (see README's endpoint list).
public enum ServeRoutes {
    public static func router(_ slot: EngineSlot, options: HTTPOptions) -> Hummingbird.Router<BasicRequestContext> {
        let router = Hummingbird.Router()
        router.middlewares.add(MetricsMiddleware(metrics: slot.metrics))
        router.middlewares.add(JSONErrorMiddleware())
        if let token = options.token { router.middlewares.add(BearerMiddleware(token: token)) }
        let limit = options.maxBodyBytes
        router.get("healthz") { _, _ in try json(["status": "ok"]) }
        router.get("readyz") { _, _ in
            let s = slot.state
            if s.ready { return try json(["status": "ready"]) }
            return try json(["status": s.failure.map { "failed: " + $0 } ?? "loading"], status: .serviceUnavailable)
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: slot.metrics.exposition(slot.current))))
        }
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8",
                                            .contentSecurityPolicy: "default-src 'self'; img-src 'self' blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"],
                     body: .init(byteBuffer: ByteBuffer(string: ServePage.html)))
        }
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.post("v1/classify") { request, _ in
            let engine = try slot.ready()
            return try json(try await engine.classify(try await decodeBody(ClassifyBody.self, request, limit: limit)))
        }
        router.post("v1/route") { request, _ in
            let engine = try slot.ready()
            let body = try await decodeBody(RouteBody.self, request, limit: limit)
            return try json(try engine.route(labels: body.labels, templates: body.templates, method: body.routing))
        }
        router.post("v1/embed/text") { request, _ in
            let engine = try slot.ready()
            return try json(try engine.embedText(try await decodeBody(EmbedTextBody.self, request, limit: limit)))
        }
        router.post("v1/embed/image") { request, _ in
            let engine = try slot.ready()
            return try json(try await engine.embedImage(try await decodeBody(EmbedImageBody.self, request, limit: limit)))
        }
        return router
    }

    /// The Hummingbird application on `options.host`:`options.port`.
    public static func application(_ slot: EngineSlot, options: HTTPOptions) -> some ApplicationProtocol {
        Application(router: router(slot, options: options),
                    server: .http1(configuration: .init(idleTimeout: .seconds(Int64(options.idleTimeoutSeconds)))),
                    configuration: .init(address: .hostname(options.host, port: options.port), serverName: "mode-serve"))
    }

    /// Reads a JSON body of at most `limit` bytes into `T`; the content type must be JSON.
    static func decodeBody<T: Decodable>(_ type: T.Type, _ request: Request, limit: Int) async throws -> T {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("application/json") else {
            throw HTTPError(.unsupportedMediaType, message: "the body must be application/json, got \(contentType.isEmpty ? "no content type" : contentType)")
        }
        let buffer = try await request.body.collect(upTo: limit)
        let data = Data(buffer.readableBytesView)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let e as ServeError {
            throw e
        } catch let e as DecodingError {
            throw ServeError.badRequest(describe(e))
        } catch {
            throw ServeError.badRequest("malformed JSON: \(error)")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: [CodingKey]) -> String {
            c.isEmpty ? "the body" : String(c.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().drop(while: { $0 == "." }))
        }
        switch e {
        case let .typeMismatch(_, c): return "\(path(c.codingPath)): wrong type (\(c.debugDescription))"
        case let .valueNotFound(_, c): return "\(path(c.codingPath)): missing value"
        case let .keyNotFound(k, _): return "the field \"\(k.stringValue)\" is missing"
        case let .dataCorrupted(c):
            return c.codingPath.isEmpty ? "malformed JSON: \(c.underlyingError.map { "\($0)" } ?? c.debugDescription)"
                                        : "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "malformed JSON"
        }
    }
}

/// A JSON answer.
func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var headers = extra
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
}

/// Turns every error into a JSON answer `{"error": …}`: bad requests 400, a full queue 429 with
/// `Retry-After`, loading 503, HTTP errors (413, 415, 404, 401) with their status, anything else 500.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as ServeError {
            switch e {
            case .overloaded: return try json(ErrorAnswer(error: e.description), status: .tooManyRequests, headers: [.retryAfter: "1"])
            case .notReady: return try json(ErrorAnswer(error: e.description), status: .serviceUnavailable, headers: [.retryAfter: "5"])
            case .badRequest, .invalidOption: return try json(ErrorAnswer(error: e.description), status: .badRequest)
            }
        } catch let e as HTTPError {
            var headers = e.headers
            headers[.contentType] = nil
            return try json(ErrorAnswer(error: e.body ?? e.status.reasonPhrase), status: e.status, headers: headers)
        } catch let e as HTTPResponseError {
            let message = e.status == .contentTooLarge ? "the body is larger than the limit (--max-body-mb)" : e.status.reasonPhrase
            return try json(ErrorAnswer(error: message), status: e.status)
        } catch {
            context.logger.error("\(request.method) \(request.uri.path): \(error)")
            return try json(ErrorAnswer(error: "internal error: \(error)"), status: .internalServerError)
        }
    }
}

/// Refuses requests without `Authorization: Bearer TOKEN` (401), `/healthz` and the page at `/`
/// excepted; the token is compared in constant time.
struct BearerMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    init(token: String) { self.token = Array("Bearer \(token)".utf8) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The page holds no data and a browser cannot send the header to load it; it asks for the token.
        if request.uri.path == "/healthz" || request.uri.path == "/" { return try await next(request, context) }
        guard let given = request.headers[.authorization], Self.equal(Array(given.utf8), token) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "a valid bearer token is needed")
        }
        return try await next(request, context)
    }

    /// Equality whose time depends on the lengths only, not on where the bytes differ.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }
}
