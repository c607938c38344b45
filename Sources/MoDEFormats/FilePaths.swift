/// Path arithmetic on strings, written out because `NSString.deletingLastPathComponent` traps
/// on one-character paths in the Foundation this builds against ("c", "c/").
public enum FilePaths {
    /// The folder part of `path`: "a/b/c" → "a/b", "a/b/" → "a", "/c" → "/", "c" → "" (the
    /// working directory), "/" → "/".
    public static func parent(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "" }
        var head = p[..<slash]
        while head.count > 1 && head.hasSuffix("/") { head = head.dropLast() }
        return head.isEmpty ? "/" : String(head)
    }

    /// The last component of `path`, trailing slashes ignored: "a/b/" → "b", "c" → "c", "/" → "/".
    public static func lastComponent(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/"), p.count > 1 else { return String(p) }
        return String(p[p.index(after: slash)...])
    }
}
