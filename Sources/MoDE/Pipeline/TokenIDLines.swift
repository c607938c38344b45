import MoDETensor
import MoDETokenizers

extension CLIPTokenizer {
    /// `mode tokenize`'s output for `lines`: per line, exactly `contextLength` space-separated
    /// ids as `open_clip.tokenize` gives them, each line ending in "\n". Lines are tokenized in
    /// parallel over `Parallel.threads` and written in input order.
    public func idLines(_ lines: [String], contextLength: Int) -> String {
        var rendered = [String](repeating: "", count: lines.count)
        rendered.withUnsafeMutableBufferPointer { buffer in
            let out = buffer
            Parallel.forEach(lines.count, grain: 64) { range in
                for i in range {
                    out[i] = tokenize(lines[i], contextLength: contextLength).map(String.init).joined(separator: " ")
                }
            }
        }
        return rendered.isEmpty ? "" : rendered.joined(separator: "\n") + "\n"
    }
}
