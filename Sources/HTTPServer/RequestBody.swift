// The body of a request as a handler sees it: empty, bytes in memory, or a file spooled to disk.
import Foundation

/// A request body. Small bodies stay in memory; large ones were streamed to a temporary file, which is removed
/// after the handler returns unless the handler took it with `moveFile(to:)`.
public final class RequestBody: @unchecked Sendable {
    /// Where the bytes are.
    public enum Storage: Sendable, Equatable {
        case empty
        case memory(Data)
        /// A temporary file holding `size` bytes.
        case file(URL, size: Int)
    }

    /// Where the bytes are.
    public private(set) var storage: Storage
    private let lock = NSLock()
    private var fileTaken = false

    init(storage: Storage) {
        self.storage = storage
    }

    /// An empty body.
    public static var empty: RequestBody { RequestBody(storage: .empty) }

    /// A body held in memory (for tests of handlers and for callers building requests by hand).
    public static func bytes(_ data: Data) -> RequestBody { RequestBody(storage: data.isEmpty ? .empty : .memory(data)) }

    /// Number of body bytes.
    public var count: Int {
        switch storage {
        case .empty: return 0
        case .memory(let data): return data.count
        case .file(_, let size): return size
        }
    }

    /// The file holding the body when it was spooled to disk, else nil.
    public var fileURL: URL? {
        if case .file(let url, _) = storage { return url }
        return nil
    }

    /// All bytes; reads the spooled file when there is one (mind its size: prefer `fileURL` for uploads).
    public func data() throws -> Data {
        switch storage {
        case .empty: return Data()
        case .memory(let data): return data
        case .file(let url, _): return try Data(contentsOf: url)
        }
    }

    /// Decodes the body as JSON into `type` (snake_case keys and ISO-8601 dates by default, matching
    /// `Response.json`); a body that is not such JSON throws `HTTPError` 400 `invalid_json`.
    public func decodeJSON<Value: Decodable>(_ type: Value.Type, decoder: JSONDecoder? = nil) throws -> Value {
        let decoder = decoder ?? {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            decoder.dateDecodingStrategy = .iso8601
            return decoder
        }()
        do {
            return try decoder.decode(type, from: data())
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, code: "invalid_json", message: "request body is not the expected JSON: \(error)")
        }
    }

    /// Writes the body to `destination` (moving the spooled file when there is one, so gigabytes are not copied).
    /// The server no longer removes the file afterwards.
    public func moveFile(to destination: URL) throws {
        switch storage {
        case .file(let url, let size):
            lock.lock()
            defer { lock.unlock() }
            try FileManager.default.moveItem(at: url, to: destination)
            fileTaken = true
            storage = .file(destination, size: size)
        case .memory(let data):
            try data.write(to: destination)
        case .empty:
            try Data().write(to: destination)
        }
    }

    /// Removes the spooled file unless a handler moved it.
    func discard() {
        lock.lock()
        defer { lock.unlock() }
        if case .file(let url, _) = storage, !fileTaken {
            try? FileManager.default.removeItem(at: url)
        }
    }
}
