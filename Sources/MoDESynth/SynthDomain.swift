import MoDEData
import MoDETensor

/// One fine-grained class of a synthetic domain.
public struct SynthClass: Sendable, Equatable {
    /// The class name of the domain's zero-shot task (`classnames.txt`).
    public var name: String
    /// Words captions use for the class (the name first, then synonyms); every informative
    /// caption of an image of this class contains one of them.
    public var terms: [String]
    /// The name in the cross-domain `mixed` task, where the domain is not implied by the templates.
    public var mixedName: String

    init(_ name: String, _ synonyms: [String], mixed: String? = nil) {
        self.name = name
        terms = [name] + synonyms
        mixedName = mixed ?? name
    }
}

/// A visually and semantically distinct part of the synthetic corpus, with its own classes,
/// drawing code and caption vocabulary.
public enum SynthDomain: String, CaseIterable, Sendable, Codable {
    case shapes, digits, textures, scenes, charts

    /// The default share of training pairs (unequal on purpose; they sum to 1).
    public var defaultWeight: Double {
        switch self {
        case .shapes: return 0.30
        case .digits: return 0.25
        case .textures: return 0.20
        case .scenes: return 0.15
        case .charts: return 0.10
        }
    }

    /// The domain's fine-grained classes.
    public var classes: [SynthClass] { renderer.classes }

    /// The domain as one class of the coarse cross-domain task.
    public var coarseName: String {
        switch self {
        case .shapes: return "geometric shape"
        case .digits: return "handwritten digit"
        case .textures: return "texture pattern"
        case .scenes: return "landscape"
        case .charts: return "chart"
        }
    }

    /// Zero-shot prompt templates (with `{c}`) for the domain's fine-grained task.
    public var taskTemplates: [String] { renderer.taskTemplates }

    /// Two classes that represent the domain in the cross-domain `mixed` task.
    var mixedClasses: [Int] {
        switch self {
        case .shapes: return [0, 5]    // circle, star
        case .digits: return [3, 7]    // three, seven
        case .textures: return [3, 4]  // checkerboard, polka dots
        case .scenes: return [0, 3]    // beach, city skyline
        case .charts: return [4, 7]    // line chart, pie chart
        }
    }

    var renderer: SynthRenderer.Type {
        switch self {
        case .shapes: return ShapesDomain.self
        case .digits: return DigitsDomain.self
        case .textures: return TexturesDomain.self
        case .scenes: return ScenesDomain.self
        case .charts: return ChartsDomain.self
        }
    }
}

/// Attribute words a drawing produced (colour, size, position …), keyed by caption slot.
typealias SynthAttributes = [String: String]

/// A domain's drawing code and caption vocabulary.
protocol SynthRenderer {
    static var classes: [SynthClass] { get }
    static var taskTemplates: [String] { get }
    /// Caption templates by style; `{slot}` is replaced by the slot's words, `{Slot}` capitalised.
    static var altTemplates: [String] { get }
    static var descriptiveTemplates: [String] { get }
    static var marketingTemplates: [String] { get }
    /// Words tag-style captions draw from besides the class term and attributes.
    static var tagWords: [String] { get }
    /// Attribute slots whose values may appear as tags and in file names.
    static var tagSlots: [String] { get }
    /// Hosts of the fake source URLs (reserved example domains).
    static var hosts: [String] { get }

    /// Draws an image of class `cls` and returns its attribute words.
    static func draw(_ cls: Int, _ canvas: inout SynthCanvas, _ rng: inout SeededRNG) -> SynthAttributes
    /// Slots derived from the attributes and the chosen class term (e.g. a noun phrase), merged
    /// over the attributes when a caption is filled.
    static func slots(_ cls: Int, term: String, _ attrs: SynthAttributes, _ rng: inout SeededRNG) -> [String: String]
}

/// How a caption is worded.
enum CaptionStyle: String, CaseIterable {
    case alt, descriptive, marketing, tags, filename

    /// Style frequencies of web-like captions.
    static let weights: [Double] = [0.30, 0.30, 0.15, 0.15, 0.10]
}

/// Caption writing shared by the domains.
enum Captions {
    /// Uninformative captions of the kind web crawls are full of (`{n}` becomes a number).
    static let uninformative = [
        "image", "photo {n}.jpg", "click here", "untitled", "IMG_{n}.JPG", "DSC{n}", "thumbnail",
        "no description available", "download", "view larger image", "more info", "untitled-{n}",
        "stock photo", "picture", "image {n}", "placeholder", "attachment {n}", "see more",
        "copyright {n} all rights reserved", "loading...", "pic {n}", "file_{n}.jpeg",
    ]

    /// A caption for an image of class `cls` of `domain` with attributes `attrs`, in `style`
    /// (drawn from the web-like style mix when nil).
    static func caption(_ domain: SynthDomain, _ cls: Int, _ attrs: SynthAttributes, style: CaptionStyle? = nil,
                        _ rng: inout SeededRNG) -> String {
        let r = domain.renderer
        let style = style ?? CaptionStyle.allCases[rng.weighted(CaptionStyle.weights)]
        let terms = r.classes[cls].terms
        let term = terms.count == 1 || rng.chance(0.6) ? terms[0] : terms[1 + rng.nextInt(terms.count - 1)]
        var slots = attrs
        for (k, v) in r.slots(cls, term: term, attrs, &rng) { slots[k] = v }
        slots["c"] = term
        slots["site"] = rng.pick(r.hosts)
        slots["n"] = String(10 + rng.nextInt(9990))
        switch style {
        case .alt: return tidy(fill(rng.pick(r.altTemplates), slots), capitalize: rng.chance(0.3))
        case .descriptive: return tidy(fill(rng.pick(r.descriptiveTemplates), slots), capitalize: true)
        case .marketing: return tidy(fill(rng.pick(r.marketingTemplates), slots), capitalize: true)
        case .tags:
            var pool = r.tagWords.shuffledPrefix(2 + rng.nextInt(2), &rng)
            pool += r.tagSlots.compactMap { slots[$0] }.filter { !$0.isEmpty }.shuffledPrefix(1 + rng.nextInt(2), &rng)
            let tags = rng.shuffled([term] + pool)
            return tags.joined(separator: rng.pick([", ", " ", " | ", ","]))
        case .filename:
            let sep = rng.pick(["_", "-"])
            var words = [term]
            if let a = r.tagSlots.compactMap({ slots[$0] }).filter({ !$0.isEmpty }).first, rng.chance(0.6) { words.insert(a, at: 0) }
            let base = words.joined(separator: " ").replacingOccurrences(of: " ", with: sep)
            let name = rng.chance(0.5) ? base + sep + slots["n"]! : "IMG" + sep + slots["n"]! + sep + base
            return name + rng.pick([".jpg", ".jpeg", ".png", ".JPG"])
        }
    }

    /// An uninformative caption.
    static func junk(_ rng: inout SeededRNG) -> String {
        rng.pick(uninformative).replacingOccurrences(of: "{n}", with: String(100 + rng.nextInt(9900)))
    }

    /// A plausible source URL for an image of class `cls` (hosts are reserved example domains).
    static func url(_ domain: SynthDomain, _ cls: Int, _ attrs: SynthAttributes, _ rng: inout SeededRNG) -> String {
        let r = domain.renderer
        let host = rng.pick(r.hosts)
        let dir = rng.pick(["images", "uploads/20\(15 + rng.nextInt(9))/0\(1 + rng.nextInt(9))", "media", "static/img", "wp-content/uploads", "cdn/photos"])
        let n = String(1000 + rng.nextInt(99000))
        if rng.chance(0.15) { return "https://\(host)/\(dir)/IMG_\(n).jpg" }
        var words = [r.classes[cls].name]
        if let a = r.tagSlots.compactMap({ attrs[$0] }).first, rng.chance(0.5) { words.insert(a, at: 0) }
        let slug = words.joined(separator: "-").lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return "https://\(host)/\(dir)/\(String(slug))-\(n).jpg"
    }

    /// Replaces `{slot}` by its words (`{Slot}`: capitalised); unknown slots become empty.
    static func fill(_ template: String, _ slots: [String: String]) -> String {
        var out = ""
        var i = template.startIndex
        while i < template.endIndex {
            if template[i] == "{", let close = template[i...].firstIndex(of: "}") {
                let key = String(template[template.index(after: i)..<close])
                let upper = key.first?.isUppercase ?? false
                let value = slots[upper ? key.prefix(1).lowercased() + key.dropFirst() : key] ?? ""
                out += upper ? capitalized(value) : value
                i = template.index(after: close)
            } else {
                out.append(template[i])
                i = template.index(after: i)
            }
        }
        return out
    }

    /// Collapses runs of spaces, removes spaces before punctuation and empty separators left by
    /// empty slots, fixes "a" before a vowel, and optionally capitalises the first letter.
    static func tidy(_ s: String, capitalize: Bool) -> String {
        var words = s.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        var i = 0
        while i < words.count {
            if [",", ".", ":", "!", "?"].contains(words[i]) && i > 0 {
                // a punctuation mark left alone by an empty slot: attach it to the previous word,
                // replacing a mark that word already ends with ("arrow, ." → "arrow.")
                if words[i - 1].last.map({ ",.:!?".contains($0) }) ?? false { words[i - 1].removeLast() }
                words[i - 1] += words[i]
                words.remove(at: i)
                continue
            }
            if i + 1 < words.count, words[i] == "a" || words[i] == "A",
               let f = words[i + 1].lowercased().first, "aeio".contains(f), !words[i + 1].lowercased().hasPrefix("one") {
                words[i] += "n"
            }
            i += 1
        }
        var out = words.joined(separator: " ")
        out = out.replacingOccurrences(of: ",,", with: ",").replacingOccurrences(of: " ,", with: ",")
        return capitalize ? capitalized(out) : out
    }

    static func capitalized(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }

    /// "one" … "twelve" for small counts, digits beyond.
    static func numberWord(_ n: Int) -> String {
        let w = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
        return n < w.count ? w[n] : String(n)
    }

    /// The plural of a class term ("cross" → "crosses", "star" → "stars").
    static func plural(_ s: String) -> String {
        s.hasSuffix("s") || s.hasSuffix("x") || s.hasSuffix("sh") ? s + "es" : s + "s"
    }
}

extension Array {
    /// Up to `k` elements in a random order.
    func shuffledPrefix(_ k: Int, _ rng: inout SeededRNG) -> [Element] { Array(rng.shuffled(self).prefix(k)) }
}
