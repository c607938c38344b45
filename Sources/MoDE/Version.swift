/// The version of the MoDE library and the `mode` tool (semantic versioning), written in this one
/// place: `mode --version`, `mode info`, and the run parameters record it.
public enum MoDEVersion {
    public static let current = "0.1.0"
}
