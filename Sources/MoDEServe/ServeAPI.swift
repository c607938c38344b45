import Foundation
import MoDE

/// A coding key for any name: request bodies are decoded through it to refuse unknown fields.
struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// A keyed container that refuses any field outside `known`, naming it.
    func strictContainer(_ known: Set<String>) throws -> KeyedDecodingContainer<AnyKey> {
        let c = try container(keyedBy: AnyKey.self)
        if let unknown = c.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw ServeError.badRequest("unknown field \"\(unknown)\" (known: \(known.sorted().joined(separator: ", ")))")
        }
        return c
    }
}

extension KeyedDecodingContainer where Key == AnyKey {
    func field<T: Decodable>(_ name: String, _ type: T.Type = T.self) throws -> T? {
        try decodeIfPresent(T.self, forKey: AnyKey(stringValue: name))
    }

    func required<T: Decodable>(_ name: String, _ type: T.Type = T.self) throws -> T {
        guard let v = try field(name, T.self) else { throw ServeError.badRequest("the field \"\(name)\" is missing") }
        return v
    }
}

/// The body of `POST /v1/classify`.
public struct ClassifyBody: Decodable, Sendable {
    /// The fields a body may have.
    static let fields: Set<String> = ["images", "labels", "templates", "top_k", "routing"]
    /// Base64 of each image's file bytes (JPEG, PNG or WebP).
    public var images: [String]
    public var labels: [String]
    public var templates: [String]?
    public var topK: Int?
    public var routing: RoutingMethod?

    public init(images: [String], labels: [String], templates: [String]? = nil, topK: Int? = nil, routing: RoutingMethod? = nil) {
        self.images = images
        self.labels = labels
        self.templates = templates
        self.topK = topK
        self.routing = routing
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.strictContainer(Self.fields)
        images = try c.required("images")
        labels = try c.required("labels")
        templates = try c.field("templates")
        topK = try c.field("top_k")
        routing = try c.field("routing")
    }
}

/// The body of `POST /v1/route`.
public struct RouteBody: Decodable, Sendable {
    /// The fields a body may have.
    static let fields: Set<String> = ["labels", "templates", "routing"]
    public var labels: [String]
    public var templates: [String]?
    public var routing: RoutingMethod?

    public init(from decoder: Decoder) throws {
        let c = try decoder.strictContainer(Self.fields)
        labels = try c.required("labels")
        templates = try c.field("templates")
        routing = try c.field("routing")
    }
}

/// The body of `POST /v1/embed/text`.
public struct EmbedTextBody: Decodable, Sendable {
    /// The fields a body may have.
    static let fields: Set<String> = ["texts", "ensemble", "routing"]
    public var texts: [String]
    /// Each text's routed weighted sum of the experts' features instead of one set per expert.
    public var ensemble: Bool?
    public var routing: RoutingMethod?

    public init(from decoder: Decoder) throws {
        let c = try decoder.strictContainer(Self.fields)
        texts = try c.required("texts")
        ensemble = try c.field("ensemble")
        routing = try c.field("routing")
    }
}

/// The body of `POST /v1/embed/image`.
public struct EmbedImageBody: Decodable, Sendable {
    /// The fields a body may have.
    static let fields: Set<String> = ["images", "labels", "templates", "ensemble", "routing"]
    public var images: [String]
    /// With `ensemble`: the label set whose routing weights mix the experts (none: uniform).
    public var labels: [String]?
    public var templates: [String]?
    public var ensemble: Bool?
    public var routing: RoutingMethod?

    public init(from decoder: Decoder) throws {
        let c = try decoder.strictContainer(Self.fields)
        images = try c.required("images")
        labels = try c.field("labels")
        templates = try c.field("templates")
        ensemble = try c.field("ensemble")
        routing = try c.field("routing")
    }
}

/// The experts a request ran and their weights (renormalised over them).
public struct RoutingAnswer: Codable, Sendable, Equatable {
    public var experts: [String]
    public var weights: [Double]
}

/// The answer of `POST /v1/classify`: one result per image, in order.
public struct ClassifyAnswer: Codable, Sendable, Equatable {
    public struct Result: Codable, Sendable, Equatable {
        public var top: [LabelProbability]
    }

    public var results: [Result]
    public var routing: RoutingAnswer
}

/// Features of one expert, a row per input.
public struct ExpertFeatures: Codable, Sendable, Equatable {
    public var name: String
    public var features: [[Float]]
}

/// The answer of the embedding endpoints: per expert, or ensembled (`features` and the weights
/// used, per input for texts, one set for images).
public struct EmbedAnswer: Codable, Sendable, Equatable {
    public var experts: [ExpertFeatures]?
    public var features: [[Float]]?
    public var weights: [[Double]]?
    public var routing: RoutingAnswer?
}

/// An error answer.
public struct ErrorAnswer: Codable, Sendable, Equatable {
    public var error: String
}
