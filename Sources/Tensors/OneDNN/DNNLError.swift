import CDNNL

/// A failed oneDNN call, naming the operation and the shapes involved so that the message says what to fix.
public struct DNNLError: Error, CustomStringConvertible, Sendable {
    /// The operation that failed, for example "convolution forward".
    public let operation: String
    /// Shapes, layouts and attributes involved.
    public let detail: String
    /// oneDNN's status name (`invalid_arguments`, `unimplemented`, …).
    public let status: String

    public var description: String { "oneDNN \(operation) failed (\(status)) for \(detail)" }
}

/// Throws a `DNNLError` unless `status` is success; `operation` and `detail` are only built on failure.
@inline(__always)
func check(_ status: dnnl_status_t, _ operation: @autoclosure () -> String, _ detail: @autoclosure () -> String)
    throws
{
    guard status != dnnl_success else { return }
    let name = dnnl_status2str(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
    throw DNNLError(operation: operation(), detail: detail(), status: name)
}
