/// The version of this package, shown by `mode --version` and recorded in the files it writes.
public enum MoDEVersion {
    public static let current = "0.10.0"
}
