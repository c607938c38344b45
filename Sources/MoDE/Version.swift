/// The version of the MoDE library and the `mode` tool (semantic versioning); the one place it
/// is written (`mode --version`, `mode info --json`).
public let modeVersion = "0.1.0"
