// Applies `Migrations/NNNN_name.sql` files in order, each in one transaction, recorded with a SHA-256 checksum.
import Foundation
import NeuralNetwork
import GRDB

/// One migration file: its order, name and contents.
public struct MigrationFile: Equatable, Sendable {
    /// The number the file name starts with (`0001_initial.sql` → 1).
    public var number: Int
    /// The file name without `.sql` (`0001_initial`), recorded in `schema_migrations`.
    public var name: String
    public var sql: String
    /// SHA-256 of the file's bytes, hex.
    public var checksum: String
}

/// Reads migration files from a folder and applies the ones a database has not seen.
///
/// Migrations are append-only history: an applied migration whose file changed stops start-up with a message
/// naming the file, and a recorded migration whose file is gone does too.
public struct Migrator {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The `NNNN_name.sql` files in `directory`, in order.
    public func migrationFiles() throws -> [MigrationFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw ServiceError.storage(message:
                "Cannot read the migrations folder \(directory.path): \(error.localizedDescription). "
                + "Set GRAFT_RESOURCES to the folder that holds Migrations/.")
        }
        var files: [MigrationFile] = []
        for fileName in names.sorted() where fileName.hasSuffix(".sql") {
            let stem = String(fileName.dropLast(4))
            let digits = stem.prefix { $0.isNumber }
            guard digits.count == 4, let number = Int(digits), stem.dropFirst(4).first == "_" else {
                throw ServiceError.storage(message:
                    "Migration file \(fileName) in \(directory.path) is not named NNNN_name.sql; rename it.")
            }
            let data = try Data(contentsOf: directory.appendingPathComponent(fileName))
            guard let sql = String(data: data, encoding: .utf8) else {
                throw ServiceError.storage(message: "Migration file \(fileName) is not UTF-8 text.")
            }
            if let previous = files.last, previous.number == number {
                throw ServiceError.storage(message:
                    "Migration files \(previous.name).sql and \(fileName) share the number \(digits); renumber one.")
            }
            files.append(MigrationFile(number: number, name: stem, sql: sql, checksum: SHA256.hexDigest(of: data)))
        }
        return files
    }

    /// Applies pending migrations in order, each in its own transaction; returns the names it applied.
    ///
    /// Runs inside the writer so that two processes starting together do not both apply the same file.
    @discardableResult
    public func migrate(_ writer: some DatabaseWriter) throws -> [String] {
        let files = try migrationFiles()
        return try writer.writeWithoutTransaction { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name       TEXT PRIMARY KEY NOT NULL,
                    checksum   TEXT NOT NULL,
                    applied_at TEXT NOT NULL
                )
                """)
            var applied: [String] = []
            for file in files {
                var didApply = false
                // IMMEDIATE: check and apply under one write lock.
                try db.inTransaction(.immediate) {
                    let recorded = try String.fetchOne(
                        db, sql: "SELECT checksum FROM schema_migrations WHERE name = ?", arguments: [file.name])
                    if let recorded {
                        guard recorded == file.checksum else {
                            throw ServiceError.storage(message: """
                                Migration \(file.name).sql in \(directory.path) was changed after it was applied \
                                (recorded checksum \(recorded.prefix(12))…, file now \(file.checksum.prefix(12))…). \
                                Applied migrations are history: restore the file and put the change in a new \
                                numbered migration.
                                """)
                        }
                        return .commit
                    }
                    do {
                        try db.execute(sql: file.sql)
                    } catch let error as DatabaseError {
                        throw ServiceError.storage(message:
                            "Migration \(file.name).sql failed: \(error.message ?? "\(error)"). Nothing of it was applied.")
                    }
                    try db.execute(
                        sql: "INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?, ?, ?)",
                        arguments: [file.name, file.checksum, Timestamp.string(from: Date())])
                    didApply = true
                    return .commit
                }
                if didApply { applied.append(file.name) }
            }
            let known = Set(files.map(\.name))
            let recordedNames = try String.fetchAll(db, sql: "SELECT name FROM schema_migrations ORDER BY name")
            if let missing = recordedNames.first(where: { !known.contains($0) }) {
                throw ServiceError.storage(message:
                    "The database records migration \(missing).sql, which is missing from \(directory.path). "
                    + "This binary is older than the database or the folder is incomplete; restore the file.")
            }
            return applied
        }
    }
}
