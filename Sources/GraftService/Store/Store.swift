// The one owner of the SQLite database: opens it (WAL, foreign keys, busy timeout) and migrates it.
import Foundation
import GRDB

/// Owns the GRDB `DatabasePool` and exposes intention-named methods; nothing else in the service sees SQL.
///
/// Several `Store`s (in one process or several) may open the same file: every state change is one statement
/// or one IMMEDIATE transaction, and SQLite's busy timeout makes writers wait their turn.
public final class Store: @unchecked Sendable {
    /// Settings for opening the database.
    public struct Configuration: Sendable {
        /// How long a writer waits for another connection's lock before failing.
        public var busyTimeout: TimeInterval = 10
        /// Readers kept open for concurrent reads.
        public var maximumReaderCount: Int = 4

        public init() {}
    }

    /// The database file.
    public let databaseURL: URL
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `databaseURL` and applies pending migrations from
    /// `migrationsDirectory`. Throws `ServiceError.storage` naming the file when a migration was edited.
    public init(databaseURL: URL, migrationsDirectory: URL, configuration: Configuration = Configuration()) throws {
        self.databaseURL = databaseURL
        try FileManager.default.createDirectory(
            at: databaseURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        var config = GRDB.Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(configuration.busyTimeout)
        config.maximumReaderCount = configuration.maximumReaderCount
        config.label = "graft.store"
        config.prepareDatabase { db in
            // In WAL mode NORMAL cannot corrupt the database and keeps every commit across a process crash;
            // only a power loss may drop the last commits. It saves an fsync per commit (several per step).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            // DatabasePool always uses WAL mode.
            pool = try DatabasePool(path: databaseURL.path, configuration: config)
        } catch {
            throw ServiceError.storage(message:
                "Cannot open the database \(databaseURL.path): \(error). Check that its folder is writable.")
        }
        try Migrator(directory: migrationsDirectory).migrate(pool)
    }

    /// The names of the migrations recorded in the database, in order, with their checksums.
    public func appliedMigrations() throws -> [(name: String, checksum: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, checksum FROM schema_migrations ORDER BY name").map {
                (name: $0["name"], checksum: $0["checksum"])
            }
        }
    }

    /// Whether the database answers a trivial query (for `GET /ready`).
    public func isReachable() -> Bool {
        (try? pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    /// The journal mode SQLite reports (`wal` once opened).
    public func journalMode() throws -> String {
        try read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    // MARK: - Access for the Store's extensions

    /// Runs a read, turning GRDB errors into `ServiceError.storage`.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError.storage(message: "Database read failed: \(error)")
        }
    }

    /// Runs `body` in one IMMEDIATE write transaction, turning GRDB errors into `ServiceError.storage`.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError.storage(message: "Database write failed: \(error)")
        }
    }
}

/// A new opaque id with a readable prefix (`job_3f2a…`).
func makeIdentifier(prefix: String) -> String {
    prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
}
