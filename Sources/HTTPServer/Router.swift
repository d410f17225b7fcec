// Routes requests by method and path pattern (`/jobs/:id`) to handler closures; 404, 405 with Allow, HEAD.
import Foundation

/// A route handler: runs on the connection's thread and may block (database, CPU work).
public typealias Handler = @Sendable (Request) throws -> Response

/// Maps method + path pattern to handlers. Register every route before the server starts; matching is then
/// read-only and safe from all connection threads.
///
/// Patterns are `/`-separated segments: literals, `:name` (one segment, captured into `pathParameters`), or a
/// final `*name` (the rest of the path, possibly empty). Literal routes win over parameter routes when both match.
/// A HEAD request runs the GET route and the server drops the body. A path with routes but none for the method
/// answers 405 with `Allow`; no route at all answers 404.
public final class Router: @unchecked Sendable {
    /// One registered route.
    public struct Route: Sendable {
        public let method: HTTPMethod
        public let pattern: String
        /// Largest body accepted on this route; nil means the server's `defaultMaxBodySize`.
        public let maxBodySize: Int?
        /// Largest body this route keeps in memory instead of spooling it to disk, while the server's
        /// `inMemoryBodyBudget` has room; nil means the server's `inMemoryBodyLimit`.
        public let inMemoryBodySize: Int?
        public let handler: Handler
        let segments: [Segment]
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)
    }

    /// The outcome of matching a method and path.
    public enum Match {
        case found(Route, parameters: [String: String])
        case notFound
        case methodNotAllowed(allowed: [HTTPMethod])
    }

    public private(set) var routes: [Route] = []

    /// Decides, from the head alone, whether a matched request may proceed: an error it returns is the answer, and
    /// the request's body is never read (an upload without credentials is refused before any of it reaches the
    /// disk). Runs on connection threads, so it must be thread-safe; set it before the server starts.
    public var admission: (@Sendable (RequestHead, Route) -> HTTPResponseError?)?

    public init() {}

    /// Adds a route. `maxBodySize` caps the request body (413 beyond it; larger than the in-memory limit spools
    /// to disk). `inMemoryBodySize` lets a route whose handler reads its whole body anyway (a tensor batch) keep
    /// bodies up to that size in memory, within the server's budget. A pattern must start with `/`; a duplicate
    /// method + pattern is a programmer error.
    public func add(_ method: HTTPMethod, _ pattern: String, maxBodySize: Int? = nil, inMemoryBodySize: Int? = nil,
                    handler: @escaping Handler) {
        precondition(pattern.hasPrefix("/"), "route pattern '\(pattern)' must start with '/'")
        let segments: [Segment] = pattern.split(separator: "/").enumerated().map { index, part in
            if part.hasPrefix(":") { return .parameter(String(part.dropFirst())) }
            if part.hasPrefix("*") {
                precondition(index == pattern.split(separator: "/").count - 1, "'*' must be the last segment of '\(pattern)'")
                return .rest(String(part.dropFirst()))
            }
            return .literal(String(part))
        }
        precondition(!routes.contains { $0.method == method && $0.segments == segments },
                     "route \(method.rawValue) \(pattern) is registered twice")
        routes.append(Route(method: method, pattern: pattern, maxBodySize: maxBodySize, inMemoryBodySize: inMemoryBodySize,
                            handler: handler, segments: segments))
        // Literal-first order makes `/jobs/new` win over `/jobs/:id`.
        routes.sort { Self.specificity($0.segments) > Self.specificity($1.segments) }
    }

    public func get(_ pattern: String, handler: @escaping Handler) { add(.get, pattern, handler: handler) }
    public func delete(_ pattern: String, handler: @escaping Handler) { add(.delete, pattern, handler: handler) }
    public func post(_ pattern: String, maxBodySize: Int? = nil, inMemoryBodySize: Int? = nil,
                     handler: @escaping Handler) {
        add(.post, pattern, maxBodySize: maxBodySize, inMemoryBodySize: inMemoryBodySize, handler: handler)
    }
    public func put(_ pattern: String, maxBodySize: Int? = nil, handler: @escaping Handler) {
        add(.put, pattern, maxBodySize: maxBodySize, handler: handler)
    }
    public func patch(_ pattern: String, maxBodySize: Int? = nil, handler: @escaping Handler) {
        add(.patch, pattern, maxBodySize: maxBodySize, handler: handler)
    }

    /// Finds the route for `method` and the decoded path `segments`.
    public func match(method: HTTPMethod, segments: [String]) -> Match {
        var allowed: Set<HTTPMethod> = []
        var headFallback: (Route, [String: String])?
        for route in routes {
            guard let parameters = Self.bind(route.segments, to: segments) else { continue }
            if route.method == method { return .found(route, parameters: parameters) }
            if method == .head && route.method == .get && headFallback == nil { headFallback = (route, parameters) }
            allowed.insert(route.method)
        }
        if let (route, parameters) = headFallback { return .found(route, parameters: parameters) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains(.get) { allowed.insert(.head) }
        return .methodNotAllowed(allowed: HTTPMethod.allCases.filter(allowed.contains))
    }

    /// Finds the route for a path string (`/jobs/7`); for tests and in-process callers.
    public func match(method: HTTPMethod, path: String) -> Match {
        guard case .success(let decoded) = RequestTarget.decode(path, method: method) else { return .notFound }
        return match(method: method, segments: decoded.segments)
    }

    /// The 404 answer for a path without routes.
    static func notFound(_ method: HTTPMethod, _ path: String) -> HTTPError {
        HTTPError(.notFound, code: "route_not_found", message: "no route for \(method.rawValue) \(path)")
    }

    /// The 405 answer, with `Allow`, for a path whose routes take other methods.
    static func methodNotAllowed(_ method: HTTPMethod, _ path: String, allowed: [HTTPMethod]) -> HTTPError {
        HTTPError(.methodNotAllowed, code: "method_not_allowed", message: "\(method.rawValue) is not allowed on \(path)",
                  headers: ["Allow": allowed.map(\.rawValue).joined(separator: ", ")])
    }

    private static func bind(_ pattern: [Segment], to path: [String]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (index, segment) in pattern.enumerated() {
            switch segment {
            case .rest(let name):
                parameters[name] = path.dropFirst(index).joined(separator: "/")
                return parameters
            case .literal(let text):
                guard index < path.count, path[index] == text else { return nil }
            case .parameter(let name):
                guard index < path.count, !path[index].isEmpty else { return nil }
                parameters[name] = path[index]
            }
        }
        return pattern.count == path.count ? parameters : nil
    }

    private static func specificity(_ segments: [Segment]) -> Int {
        // Literals before parameters before rest, segment by segment from the left.
        segments.reduce(0) { score, segment in
            switch segment {
            case .literal: return score * 3 + 2
            case .parameter: return score * 3 + 1
            case .rest: return score * 3
            }
        }
    }
}
