import CDNNL

/// The oneDNN library Graft is linked against, for logs, `graft --version` and benchmark reports.
public enum OneDNN {
    /// "major.minor.patch" of the loaded libdnnl.
    public static var version: String {
        guard let v = dnnl_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.patch)"
    }
}
