import Foundation
import Hummingbird
import HummingbirdTesting
import MoDE
import Testing
import TestSupport
@testable import MoDEServe

/// The OpenAPI document served at /openapi.json against what the server does: its paths are the
/// routes, its request schemas the fields each body accepts, and a served answer has the
/// documented shape.
@Suite struct OpenAPITests {
    func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
    }

    func schema(_ doc: [String: Any], _ name: String) -> [String: Any] {
        ((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])?[name] as? [String: Any] ?? [:]
    }

    @Test func requestSchemasListTheFieldsEachBodyAccepts() throws {
        let doc = try document()
        for (name, fields) in [("ClassifyRequest", ClassifyBody.fields), ("RouteRequest", RouteBody.fields),
                               ("EmbedTextRequest", EmbedTextBody.fields), ("EmbedImageRequest", EmbedImageBody.fields)] {
            let s = schema(doc, name)
            #expect(Set((s["properties"] as? [String: Any] ?? [:]).keys) == fields, "\(name)")
            #expect(s["additionalProperties"] as? Bool == false, "\(name)")
        }
    }

    @Test func everyDocumentedPathIsServedAndAnswersTheDocumentedShape() async throws {
        let doc = try document()
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        #expect(Set(paths.keys) == ["/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/classify", "/v1/route", "/v1/embed/text", "/v1/embed/image"])
        let dir = try TempDirectory()
        let files = try imageFiles(dir, count: 2)
        let e = try engine(.checkpoint(try tinyCLIP(dir, "m", seed: 4), config: nil))
        let bodies: [String: [String: Any]] = [
            "/v1/classify": ["images": try files.map(base64), "labels": ["cat", "dog"], "top_k": 1],
            "/v1/route": ["labels": ["cat"]], "/v1/embed/text": ["texts": ["a cat"]], "/v1/embed/image": ["images": [try base64(files[0])]],
        ]
        try await ServeRoutes.application(EngineSlot(e), options: HTTPOptions()).test(.router) { client in
            for (path, methods) in paths {
                let post = methods["post"] != nil
                let body = post ? try jsonBody(bodies[path]!) : nil
                try await client.execute(uri: path, method: post ? .post : .get, headers: post ? jsonHeaders : [:], body: body) { response in
                    #expect(response.status == .ok, "\(path)")
                    if path == "/v1/classify" {
                        let answer = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                        #expect(Set(answer.keys) == ["results", "routing"])
                        let first = try #require((answer["results"] as? [[String: Any]])?.first)
                        #expect(Set(first.keys) == ["top"])
                        #expect(Set(((first["top"] as? [[String: Any]])?.first ?? [:]).keys) == ["label", "probability"])
                    }
                    if path == "/openapi.json" { #expect(String(buffer: response.body) == OpenAPIDocument.json) }
                }
            }
        }
    }
}
