// Runs routes in process, without sockets: how route handlers are tested (404, 405, 413 and errors included).
import Foundation
import Logging

extension Router {
    /// Routes `request` and runs its handler as the server would — 400 for an undecodable query, 404, 405 with
    /// Allow, the router's `admission` check, 413 beyond the route's body cap (`defaultMaxBodySize` when the route
    /// sets none), errors rendered as JSON — but without a socket.
    public func respond(
        to request: Request, defaultMaxBodySize: Int = HTTPServerConfiguration().defaultMaxBodySize,
        logger: Logger = Logger(label: "graft.http.in-process")
    ) -> Response {
        if let query = request.head.query, case .failure(let error) = QueryString.decode(query) {
            return error.response
        }
        switch match(method: request.method, segments: request.head.pathSegments) {
        case .notFound:
            return Self.notFound(request.method, request.path).response
        case .methodNotAllowed(let allowed):
            return Self.methodNotAllowed(request.method, request.path, allowed: allowed).response
        case .found(let route, let parameters):
            if let refusal = admission?(request.head, route) { return refusal.response }
            let limit = route.maxBodySize ?? defaultMaxBodySize
            guard request.body.count <= limit else {
                return HTTPError(.contentTooLarge, code: "body_too_large",
                                 message: "request body exceeds this route's limit of \(limit) bytes").response
            }
            var routed = request
            routed.pathParameters = parameters
            do {
                return try route.handler(routed)
            } catch {
                return ErrorBody.response(for: error, requestId: request.requestId, logger: logger)
            }
        }
    }
}

extension Response {
    /// The whole body: the bytes, or everything a stream writes (run to its end on this thread).
    public func collectBody() throws -> [UInt8] {
        switch body {
        case .empty: return []
        case .bytes(let bytes): return bytes
        case .file(let url): return [UInt8](try Data(contentsOf: url))
        case .stream(let write):
            var collected: [UInt8] = []
            try write(ResponseBodyWriter(send: { collected += $0 }, clientGone: { false }, serverStopping: { false }))
            return collected
        }
    }
}
