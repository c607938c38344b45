import Foundation
import Hummingbird
import HummingbirdTesting
import MoDE
import Testing
import TestSupport
@testable import MoDEServe

/// `mode serve`: served answers are checked against `ClassifyRun` (`mode classify`, itself
/// checked against the model's encoders one image at a time) on the same files.
@Suite struct ServeTests {
    func app(_ engine: ServeEngine?, token: String? = nil, maxBody: Int = 1 << 20) -> some ApplicationProtocol {
        var options = HTTPOptions()
        options.token = token
        options.maxBodyBytes = maxBody
        return ServeRoutes.application(EngineSlot(engine), options: options)
    }

    func expectClose(_ served: ClassifyAnswer.Result, _ expected: ImagePrediction, tolerance: Double = 1e-6) {
        #expect(served.top.map(\.label) == expected.top.map(\.label))
        for (s, e) in zip(served.top, expected.top) { #expect(abs(s.probability - e.probability) <= tolerance, "\(s) vs \(e)") }
    }

    @Test(arguments: [false, true])
    func servedAnswersEqualModeClassify(experts: Bool) async throws {
        let dir = try TempDirectory()
        let files = try imageFiles(dir)
        let source: ServeConfig.Source = experts ? .experts(try twoExpertManifest(dir)) : .checkpoint(try tinyCLIP(dir, "m", seed: 4), config: nil)
        let labels = ["cat", "dog", "red car", "blue sky"]
        var request = ClassifyRequest(model: experts ? .experts(dir.file("experts.json")) : .checkpoint(dir.file("m"), config: nil),
                                      labels: labels, templates: PromptTemplates.simple, paths: files)
        request.topK = 3
        let expected = try ClassifyRun.run(request)
        let body = try jsonBody(["images": try files.map(base64), "labels": labels, "templates": PromptTemplates.simple, "top_k": 3])
        try await app(try engine(source)).test(.router) { client in
            try await client.execute(uri: "/v1/classify", method: .post, headers: jsonHeaders, body: body) { response in
                #expect(response.status == .ok)
                let answer = try decoded(ClassifyAnswer.self, response)
                #expect(answer.results.count == files.count)
                for (s, e) in zip(answer.results, expected.predictions) { expectClose(s, e) }
                if let routing = expected.summary.routing {
                    #expect(answer.routing.experts == routing.experts && answer.routing.weights == routing.weights)
                } else {
                    #expect(answer.routing.weights == [1])
                }
            }
        }
    }

    @Test func concurrentRequestsShareABatchAndAnswerAsAlone() async throws {
        let dir = try TempDirectory()
        let files = try imageFiles(dir, count: 4)
        let e = try engine(.experts(try twoExpertManifest(dir)), maxBatch: 8)
        let labels = ["cat", "dog", "car"]
        func body(_ f: String) throws -> ClassifyBody { ClassifyBody(images: [try base64(f)], labels: labels, templates: PromptTemplates.simple) }
        var alone: [ClassifyAnswer] = []
        for f in files { alone.append(try await e.classify(try body(f))) }
        // The worker is held until all four requests wait in the queue, then takes them at once.
        e.batcher.hold(true)
        let bodies = try files.map(body)
        let together = try await withThrowingTaskGroup(of: (Int, ClassifyAnswer).self) { group in
            for (i, b) in bodies.enumerated() { group.addTask { (i, try await e.classify(b)) } }
            while e.queueDepth < files.count { try await Task.sleep(nanoseconds: 1_000_000) }
            e.batcher.hold(false)
            var out = [ClassifyAnswer?](repeating: nil, count: files.count)
            for try await (i, a) in group { out[i] = a }
            return out.map { $0! }
        }
        #expect(e.batcher.batchSizes.last == files.count)
        // A GEMM of 4 rows may round differently from one of 1 row (Float32 features, ~1e-7
        // relative), and the logits are 100 · cos: the probabilities agree to 1e-5.
        for (a, t) in zip(alone, together) {
            #expect(a.routing == t.routing)
            #expect(a.results[0].top.map(\.label) == t.results[0].top.map(\.label))
            for (x, y) in zip(a.results[0].top, t.results[0].top) { #expect(abs(x.probability - y.probability) <= 1e-5) }
        }
    }

    @Test func aFullQueueAnswers429WithRetryAfter() async throws {
        let dir = try TempDirectory()
        let files = try imageFiles(dir, count: 2)
        let e = try engine(.checkpoint(try tinyCLIP(dir, "m", seed: 4), config: nil), maxBatch: 2, maxQueue: 2)
        let images = try files.map(base64)
        e.batcher.hold(true)
        let waiting = Task { try await e.classify(ClassifyBody(images: images, labels: ["a", "b"])) }
        while e.queueDepth < 2 { try await Task.sleep(nanoseconds: 1_000_000) }
        try await app(e).test(.router) { client in
            let body = try jsonBody(["images": [images[0]], "labels": ["a", "b"]])
            try await client.execute(uri: "/v1/classify", method: .post, headers: jsonHeaders, body: body) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "1")
                let error = try decoded(ErrorAnswer.self, response).error
                #expect(error.contains("queue is full"))
            }
        }
        e.batcher.hold(false)
        #expect(try await waiting.value.results.count == 2)
    }

    @Test func aTokenGuardsEveryEndpointButHealthz() async throws {
        let dir = try TempDirectory()
        let e = try engine(.checkpoint(try tinyCLIP(dir, "m", seed: 4), config: nil))
        let body = try jsonBody(["labels": ["cat", "dog"]])
        try await app(e, token: "s3cret").test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            // The page holds no data; it asks for the token and sends it with its calls.
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .ok) }
            for headers: HTTPFields in [[:], [.authorization: "Bearer wrong"], [.authorization: "Bearer s3cre"], [.authorization: "s3cret"]] {
                for path in ["/readyz", "/metrics", "/openapi.json"] {
                    try await client.execute(uri: path, method: .get, headers: headers) { #expect($0.status == .unauthorized) }
                }
                var h = headers
                h[.contentType] = "application/json"
                try await client.execute(uri: "/v1/route", method: .post, headers: h, body: body) { response in
                    #expect(response.status == .unauthorized && response.headers[.wwwAuthenticate] == "Bearer")
                }
            }
            var h = jsonHeaders
            h[.authorization] = "Bearer s3cret"
            try await client.execute(uri: "/v1/route", method: .post, headers: h, body: body) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get, headers: h) { #expect($0.status == .ok) }
        }
        #expect(BearerMiddleware<BasicRequestContext>.equal(Array("ab".utf8), Array("ab".utf8)))
        #expect(!BearerMiddleware<BasicRequestContext>.equal(Array("ab".utf8), Array("abc".utf8)))
    }

    @Test func badInputGetsA4xxNamingTheProblemAndTheServerStaysUp() async throws {
        let dir = try TempDirectory()
        let files = try imageFiles(dir, count: 1)
        let e = try engine(.checkpoint(try tinyCLIP(dir, "m", seed: 4), config: nil))
        let good = try base64(files[0])
        let cases: [(String, HTTPFields, ByteBuffer, HTTPResponse.Status, String)] = [
            ("malformed JSON", jsonHeaders, ByteBuffer(string: "{\"images\": ["), .badRequest, "malformed JSON"),
            ("bad base64", jsonHeaders, try jsonBody(["images": ["%%%"], "labels": ["a"]]), .badRequest, "images[0]: not valid base64"),
            ("not an image", jsonHeaders, try jsonBody(["images": [good, Data("hello".utf8).base64EncodedString()], "labels": ["a"]]), .badRequest, "images[1]: not a readable image"),
            ("empty labels", jsonHeaders, try jsonBody(["images": [good], "labels": []]), .badRequest, "no labels"),
            ("blank label", jsonHeaders, try jsonBody(["images": [good], "labels": ["a", " "]]), .badRequest, "labels[1]: empty label"),
            ("duplicate labels", jsonHeaders, try jsonBody(["images": [good], "labels": ["a", "b", "a"]]), .badRequest, "\"a\" is given twice"),
            ("unknown field", jsonHeaders, try jsonBody(["images": [good], "labels": ["a"], "topk": 2]), .badRequest, "unknown field \"topk\""),
            ("missing field", jsonHeaders, try jsonBody(["labels": ["a"]]), .badRequest, "\"images\" is missing"),
            ("wrong type", jsonHeaders, try jsonBody(["images": [good], "labels": "a"]), .badRequest, "labels"),
            ("bad routing", jsonHeaders, try jsonBody(["images": [good], "labels": ["a"], "routing": "best"]), .badRequest, "routing"),
            ("bad top_k", jsonHeaders, try jsonBody(["images": [good], "labels": ["a"], "top_k": 0]), .badRequest, "top_k"),
            ("no images", jsonHeaders, try jsonBody(["images": [], "labels": ["a"]]), .badRequest, "no images"),
            ("wrong content type", [.contentType: "text/plain"], try jsonBody(["images": [good], "labels": ["a"]]), .unsupportedMediaType, "application/json"),
            ("over the limit", jsonHeaders, try jsonBody(["images": [String(repeating: "A", count: 5000)], "labels": ["a"]]), .contentTooLarge, "limit"),
        ]
        try await app(e, maxBody: 4096).test(.router) { client in
            for (name, headers, body, status, message) in cases {
                try await client.execute(uri: "/v1/classify", method: .post, headers: headers, body: body) { response in
                    #expect(response.status == status, "\(name)")
                    #expect(response.headers[.contentType] == "application/json", "\(name)")
                    let error = try decoded(ErrorAnswer.self, response).error
                    #expect(error.contains(message), "\(name): \(error)")
                }
            }
            try await client.execute(uri: "/nowhere", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            let body = try jsonBody(["images": [good], "labels": ["a", "b"]])
            try await client.execute(uri: "/v1/classify", method: .post, headers: jsonHeaders, body: body) { #expect($0.status == .ok) }
        }
    }

    @Test func readyOnceTheModelsAreLoaded() async throws {
        let slot = EngineSlot()
        let dir = try TempDirectory()
        try await ServeRoutes.application(slot, options: HTTPOptions()).test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/v1/route", method: .post, headers: jsonHeaders, body: try jsonBody(["labels": ["a"]])) {
                #expect($0.status == .serviceUnavailable)
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            slot.set(try engine(.checkpoint(try tinyCLIP(dir, "m", seed: 4), config: nil)))
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func metricsCountRequestsBatchesAndCacheHits() async throws {
        let dir = try TempDirectory()
        let files = try imageFiles(dir, count: 3)
        let e = try engine(.checkpoint(try tinyCLIP(dir, "m", seed: 4), config: nil))
        let classify = try jsonBody(["images": try files.map(base64), "labels": ["cat", "dog"]])
        let route = try jsonBody(["labels": ["cat", "dog"]])
        try await app(e).test(.router) { client in
            try await client.execute(uri: "/v1/classify", method: .post, headers: jsonHeaders, body: classify) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/route", method: .post, headers: jsonHeaders, body: route) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/route", method: .post, headers: [:], body: route) { #expect($0.status == .unsupportedMediaType) }
            try await client.execute(uri: "/no/such/path", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                for line in [
                    #"mode_serve_requests_total{endpoint="/v1/classify",status="200"} 1"#,
                    #"mode_serve_requests_total{endpoint="/v1/route",status="200"} 1"#,
                    #"mode_serve_requests_total{endpoint="/v1/route",status="415"} 1"#,
                    #"mode_serve_requests_total{endpoint="other",status="404"} 1"#,
                    #"mode_serve_request_seconds_count{endpoint="/v1/classify"} 1"#,
                    // One forward pass of the request's 3 images; the label set embedded once, then found.
                    "mode_serve_batch_images_count 1", "mode_serve_batch_images_sum 3.0",
                    "mode_serve_class_cache_hits_total 1", "mode_serve_class_cache_misses_total 1", "mode_serve_queue_images 0.0",
                ] {
                    #expect(text.contains(line + "\n"), "\(line) not in:\n\(text)")
                }
            }
        }
    }

    @Test func thePageIsSelfContainedAndCallsClassify() async throws {
        try await ServeRoutes.application(EngineSlot(), options: HTTPOptions()).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'self'") == true)
                let page = String(buffer: response.body)
                #expect(page.contains("fetch(\"/v1/classify\""))
                for external in ["http://", "https://", "src=\"//", "href=\"//", "@import"] { #expect(!page.contains(external), "\(external)") }
            }
        }
    }
}
