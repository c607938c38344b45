/// Expansion of WebDataset shard specifications: brace notation (`train/{00000..00099}.tar`,
/// `{a,b}`, nested braces; zero padding kept as written) and several sources joined with `::`.
public enum ShardSpec {
    /// A malformed specification.
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// All paths the specification denotes, in order.
    public static func expand(_ spec: String) throws -> [String] {
        var out: [String] = []
        for part in spec.components(separatedBy: "::") where !part.trimmingCharacters(in: .whitespaces).isEmpty {
            out += try expandBraces(Array(part.trimmingCharacters(in: .whitespaces)), whole: spec)
        }
        return out
    }

    private static func expandBraces(_ s: [Character], whole: String) throws -> [String] {
        guard let open = s.firstIndex(of: "{") else {
            if s.contains("}") { throw Error(description: "unbalanced '}' in shard specification \(whole)") }
            return [String(s)]
        }
        var depth = 0
        var close: Int?
        var commas: [Int] = []
        for i in open..<s.count {
            switch s[i] {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { close = i }
            case "," where depth == 1: commas.append(i)
            default: break
            }
            if close != nil { break }
        }
        guard let close else { throw Error(description: "unbalanced '{' in shard specification \(whole)") }
        let prefix = String(s[..<open])
        let suffixes = try expandBraces(Array(s[(close + 1)...]), whole: whole)
        let inner = Array(s[(open + 1)..<close])
        var alternatives: [String] = []
        if commas.isEmpty {
            alternatives = try range(String(inner), whole: whole)
        } else {
            var start = open + 1
            for c in commas + [close] {
                alternatives += try expandBraces(Array(s[start..<c]), whole: whole)
                start = c + 1
            }
        }
        var out: [String] = []
        for a in alternatives { for suf in suffixes { out.append(prefix + a + suf) } }
        return out
    }

    /// `00..10` (numeric, zero padding from the wider bound as written) or `a..e` (letters); any
    /// other text is kept literally, as `{x}`.
    private static func range(_ inner: String, whole: String) throws -> [String] {
        let parts = inner.components(separatedBy: "..")
        if parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[1]) {
            let width = (parts[0].hasPrefix("0") || parts[1].hasPrefix("0")) ? max(parts[0].count, parts[1].count) : 0
            let step = lo <= hi ? 1 : -1
            if abs(hi - lo) > 10_000_000 { throw Error(description: "range {\(inner)} too large in \(whole)") }
            return stride(from: lo, through: hi, by: step).map { n in
                let d = String(n)
                return d.count < width ? String(repeating: "0", count: width - d.count) + d : d
            }
        }
        if parts.count == 2, parts[0].count == 1, parts[1].count == 1,
           let a = parts[0].unicodeScalars.first?.value, let b = parts[1].unicodeScalars.first?.value {
            let step = a <= b ? 1 : -1
            return stride(from: Int(a), through: Int(b), by: step).map { String(UnicodeScalar(UInt32($0))!) }
        }
        return ["{" + inner + "}"]
    }
}
