/// open_clip's default text cleaning (`clean="lower"`), applied before pre-tokenization:
///
///     whitespace_clean(basic_clean(text)).lower()
///     basic_clean(text)      = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
///     whitespace_clean(text) = " ".join(text.split()).strip()
///
/// with ftfy 6.3 and CPython 3.11 string semantics. See `FTFY`, `Mojibake`, `HTMLUnescape`
/// and `PythonUnicode` for the parts.
public enum CLIPTextCleaner {
    /// The cleaned text, as code points.
    public static func cleanScalars(_ text: String) -> [UInt32] {
        var s = PythonUnicode.scalars(text)
        s = FTFY.fixText(s)
        s = HTMLUnescape.pythonUnescape(HTMLUnescape.pythonUnescape(s))
        s = PythonUnicode.collapseWhitespace(s)  // also does basic_clean's strip()
        return PythonUnicode.lower(s)
    }

    /// The cleaned text (what open_clip's `SimpleTokenizer.clean_fn` returns).
    public static func clean(_ text: String) -> String {
        PythonUnicode.string(cleanScalars(text))
    }
}
