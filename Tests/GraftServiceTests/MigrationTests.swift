// Migrations: applied once in order with checksums; edited, missing, misnamed or broken files stop start-up.
import Foundation
import NeuralNetwork
import GRDB
import Testing
@testable import GraftService

@Suite struct MigrationTests {
    @Test func appliesEveryFileOnceAndRecordsChecksums() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let files = try Migrator(directory: TestSupport.repositoryMigrations).migrationFiles()
        #expect(!files.isEmpty)
        let applied = try store.appliedMigrations()
        #expect(applied.map(\.name) == files.map(\.name))
        for (record, file) in zip(applied, files) {
            let bytes = try Data(contentsOf: TestSupport.repositoryMigrations.appendingPathComponent(file.name + ".sql"))
            #expect(record.checksum == SHA256.hexDigest(of: bytes))
        }
        let tables = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        for table in ["datasets", "job_events", "job_metrics", "jobs", "models", "schema_migrations"] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        #expect(try store.journalMode() == "wal")
        let foreignKeys = try store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(foreignKeys == 1)
        let synchronous = try store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 1, "NORMAL in WAL mode")

        // Opening again applies nothing new.
        let again = try Migrator(directory: TestSupport.repositoryMigrations).migrate(store.pool)
        #expect(again.isEmpty)
        _ = try TestSupport.makeStore(in: directory)
    }

    @Test func laterMigrationIsAppliedOnNextStart() throws {
        let directory = try TemporaryDirectory()
        let migrations = try TestSupport.copyOfMigrations(in: directory)
        _ = try Store(databaseURL: directory.path("db.sqlite"), migrationsDirectory: migrations)
        try "ALTER TABLE datasets ADD COLUMN note TEXT;".write(
            to: migrations.appendingPathComponent("9000_add_note.sql"), atomically: true, encoding: .utf8)
        let store = try Store(databaseURL: directory.path("db.sqlite"), migrationsDirectory: migrations)
        #expect(try store.appliedMigrations().last?.name == "9000_add_note")
        let columns = try store.pool.read { db in try db.columns(in: "datasets").map(\.name) }
        #expect(columns.contains("note"))
    }

    @Test func editedAppliedMigrationStopsStartUpNamingTheFile() throws {
        let directory = try TemporaryDirectory()
        let migrations = try TestSupport.copyOfMigrations(in: directory)
        _ = try Store(databaseURL: directory.path("db.sqlite"), migrationsDirectory: migrations)
        let file = migrations.appendingPathComponent("0001_initial.sql")
        let edited = try String(contentsOf: file, encoding: .utf8) + "\n-- a harmless-looking edit\n"
        try edited.write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try Store(databaseURL: directory.path("db.sqlite"), migrationsDirectory: migrations)
            Issue.record("an edited migration was accepted")
        } catch let error as ServiceError {
            #expect(error.message.contains("0001_initial.sql"))
            #expect(error.message.contains("changed after it was applied"))
        }
    }

    @Test func recordedMigrationMissingFromFolderStopsStartUp() throws {
        let directory = try TemporaryDirectory()
        let migrations = try TestSupport.copyOfMigrations(in: directory)
        try "CREATE TABLE extra (id INTEGER);".write(
            to: migrations.appendingPathComponent("0999_extra.sql"), atomically: true, encoding: .utf8)
        _ = try Store(databaseURL: directory.path("db.sqlite"), migrationsDirectory: migrations)
        try FileManager.default.removeItem(at: migrations.appendingPathComponent("0999_extra.sql"))
        #expect(throws: ServiceError.self) {
            _ = try Store(databaseURL: directory.path("db.sqlite"), migrationsDirectory: migrations)
        }
    }

    @Test func brokenMigrationRollsBackEntirely() throws {
        let directory = try TemporaryDirectory()
        let migrations = try TestSupport.copyOfMigrations(in: directory)
        try "CREATE TABLE half (id INTEGER); INSERT INTO no_such_table VALUES (1);".write(
            to: migrations.appendingPathComponent("0999_broken.sql"), atomically: true, encoding: .utf8)
        do {
            _ = try Store(databaseURL: directory.path("db.sqlite"), migrationsDirectory: migrations)
            Issue.record("a broken migration was accepted")
        } catch let error as ServiceError {
            #expect(error.message.contains("0999_broken.sql"))
        }
        try FileManager.default.removeItem(at: migrations.appendingPathComponent("0999_broken.sql"))
        let store = try Store(databaseURL: directory.path("db.sqlite"), migrationsDirectory: migrations)
        let tables = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        #expect(!tables.contains("half"), "the first statement of the failed migration was kept")
        #expect(try store.appliedMigrations().map(\.name) == (try Migrator(directory: migrations).migrationFiles().map(\.name)))
    }

    @Test(arguments: ["1_short.sql", "00012_long.sql", "abcd_letters.sql", "0003-dash.sql"])
    func misnamedFileIsRefused(fileName: String) throws {
        let directory = try TemporaryDirectory()
        let migrations = try TestSupport.copyOfMigrations(in: directory)
        try "SELECT 1;".write(to: migrations.appendingPathComponent(fileName), atomically: true, encoding: .utf8)
        do {
            _ = try Migrator(directory: migrations).migrationFiles()
            Issue.record("\(fileName) was accepted")
        } catch let error as ServiceError {
            #expect(error.message.contains(fileName))
        }
    }

    @Test func schemaConstraintsHold() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let now = Timestamp.string(from: Date())
        // CHECK on status.
        #expect(throws: DatabaseError.self) {
            try store.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO jobs (id, status, spec_json, created_at, updated_at) VALUES ('j', 'paused', '{}', ?, ?)
                    """, arguments: [now, now])
            }
        }
        // Foreign key on dataset_id.
        #expect(throws: DatabaseError.self) {
            try store.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO jobs (id, spec_json, dataset_id, created_at, updated_at) VALUES ('j', '{}', 'nope', ?, ?)
                    """, arguments: [now, now])
            }
        }
        // A running job must have an owner.
        #expect(throws: DatabaseError.self) {
            try store.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO jobs (id, status, spec_json, created_at, updated_at) VALUES ('j', 'running', '{}', ?, ?)
                    """, arguments: [now, now])
            }
        }
    }
}
