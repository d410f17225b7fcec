// The service's domain errors: what went wrong, what to do, and the HTTP status each one maps to.
import Foundation

/// A failure the service reports to its callers.
///
/// Every case carries a message that says what went wrong and what to do. `httpStatusCode`, `code`, `field`
/// are what the HTTP layer renders as `{"error": {"code", "message", "field"}}`.
public enum ServiceError: Error, Equatable, CustomStringConvertible {
    /// An id that names nothing (404).
    case notFound(kind: String, id: String)
    /// A request that names something this route does not offer, such as an unknown export format (400).
    case badRequest(code: String, field: String?, message: String)
    /// A request that conflicts with the current state, such as cancelling a finished job (409).
    case conflict(code: String, message: String)
    /// A request whose values are invalid (422), naming the field.
    case invalid(field: String?, message: String)
    /// The database, a migration or a file on disk failed (500 unless start-up).
    case storage(message: String)
    /// The disk is too full for what the request would write (507); the message says to free space.
    case insufficientStorage(message: String)
    /// The service is at a capacity limit for now (503); the client should retry after `retryAfterSeconds`.
    case saturated(code: String, message: String, retryAfterSeconds: Int)

    /// The HTTP status this error maps to.
    public var httpStatusCode: Int {
        switch self {
        case .badRequest: return 400
        case .notFound: return 404
        case .conflict: return 409
        case .invalid: return 422
        case .storage: return 500
        case .insufficientStorage: return 507
        case .saturated: return 503
        }
    }

    /// A stable machine-readable code.
    public var code: String {
        switch self {
        case .badRequest(let code, _, _): return code
        case .notFound(let kind, _): return "\(kind)_not_found"
        case .conflict(let code, _): return code
        case .invalid: return "invalid_value"
        case .storage: return "storage_error"
        case .insufficientStorage: return "insufficient_storage"
        case .saturated(let code, _, _): return code
        }
    }

    /// The field the error is about, when there is one.
    public var field: String? {
        if case .invalid(let field, _) = self { return field }
        if case .badRequest(_, let field, _) = self { return field }
        return nil
    }

    /// A sentence for people.
    public var message: String {
        switch self {
        case .notFound(let kind, let id):
            return "No \(kind.replacingOccurrences(of: "_", with: " ")) has the id '\(id)'; list them to find a valid id."
        case .badRequest(_, _, let message), .conflict(_, let message), .invalid(_, let message), .storage(let message),
             .insufficientStorage(let message), .saturated(_, let message, _):
            return message
        }
    }

    public var description: String { message }
}
