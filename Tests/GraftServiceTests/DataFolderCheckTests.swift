// Start-up refuses a database that does not belong to the data folder's datasets and models, instead of starting
// fresh and orphaning them; fresh folders, folders from before the check, and leftovers still start.
import Foundation
import GRDB
import Testing
@testable import GraftService

@Suite struct DataFolderCheckTests {
    static func service(_ data: URL, _ directory: TemporaryDirectory) throws -> Service {
        let existing = directory.path("resources")
        let resources = FileManager.default.fileExists(atPath: existing.path)
            ? existing : try ServiceTests.makeResources(in: directory)
        let configuration = ServiceConfiguration(dataDirectory: data, resourcesRoot: resources)
        return try Service(configuration: configuration, runner: CountingRunner(), environment: [:],
                           logger: ServiceTests.quietLogger())
    }

    /// Starts a service on `data`, registers a dataset whose files are under `datasets/`, and closes it.
    static func folderWithADataset(_ data: URL, _ directory: TemporaryDirectory, id: String = "dataset_a") throws {
        let service = try Self.service(data, directory)
        let folder = service.configuration.datasetsDirectory.appendingPathComponent(id)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("cat"), withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: folder.appendingPathComponent("cat/1.png"))
        try service.store.insertDataset(DatasetRecord(id: id, name: "pets", source: .upload, path: folder.path,
                                                      classCount: 1, imageCount: 1))
    }

    static func removeDatabase(_ data: URL) {
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(at: data.appendingPathComponent("graft.sqlite" + suffix))
        }
    }

    static func expectRefusal(_ data: URL, _ directory: TemporaryDirectory, saying problem: String) {
        do {
            _ = try Self.service(data, directory)
            Issue.record("a service started on a database that does not know its folder's artefacts")
        } catch let error as ServiceError {
            let message = error.message
            #expect(message.contains(data.standardizedFileURL.path) && message.contains("1 dataset(s) in datasets/"),
                    "\(message)")
            #expect(message.contains(problem) && message.contains("mv \(data.standardizedFileURL.path) "), "\(message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    /// A 0-byte database file (or none) beside datasets: refused, and again on the next try; the files are kept.
    @Test func anEmptiedOrMissingDatabaseBesideArtefactsRefusesToStart() throws {
        let directory = try TemporaryDirectory()
        let data = directory.path("var")
        try Self.folderWithADataset(data, directory)
        Self.removeDatabase(data)
        _ = FileManager.default.createFile(atPath: data.appendingPathComponent("graft.sqlite").path, contents: Data())
        Self.expectRefusal(data, directory, saying: "is empty or was replaced")
        Self.expectRefusal(data, directory, saying: "is empty or was replaced")
        Self.removeDatabase(data)
        Self.expectRefusal(data, directory, saying: "is empty or was replaced")
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("datasets/dataset_a/cat/1.png").path))
    }

    /// Another folder's database copied in: refused, naming both identities.
    @Test func anotherFoldersDatabaseIsRefused() throws {
        let directory = try TemporaryDirectory()
        let first = directory.path("first"), second = directory.path("second")
        try Self.folderWithADataset(first, directory)
        let other = try Self.service(second, directory)
        // Everything into the main file, so that a copy of it alone is the whole database.
        try other.store.pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        Self.removeDatabase(first)
        try FileManager.default.copyItem(at: second.appendingPathComponent("graft.sqlite"),
                                         to: first.appendingPathComponent("graft.sqlite"))
        Self.expectRefusal(first, directory, saying: "belongs to another data folder")
    }

    /// Fresh folders, folders with only a half-received upload, and folders from before identities were recorded
    /// (their database knows the artefacts) all start, and get their identity.
    @Test func freshLegacyAndLeftoverFoldersStart() throws {
        let directory = try TemporaryDirectory()
        let fresh = directory.path("fresh")
        let identity: String = try {
            let service = try Self.service(fresh, directory)
            return try #require(try service.store.dataFolderID())
        }()
        let marker = fresh.appendingPathComponent(DataFolderCheck.markerName)
        #expect(try String(contentsOf: marker, encoding: .utf8) == identity + "\n")
        _ = try Self.service(fresh, directory)   // the same folder again

        let leftover = directory.path("leftover")
        try FileManager.default.createDirectory(at: leftover.appendingPathComponent("datasets"),
                                                withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: leftover.appendingPathComponent("datasets/dataset_x.upload").path,
                                           contents: Data([0]))
        _ = try Self.service(leftover, directory)

        let legacy = directory.path("legacy")
        try Self.folderWithADataset(legacy, directory)
        do {
            let service = try Self.service(legacy, directory)
            try service.store.pool.write { db in try db.execute(sql: "DELETE FROM data_folder") }
        }
        try FileManager.default.removeItem(at: legacy.appendingPathComponent(DataFolderCheck.markerName))
        let adopted = try Self.service(legacy, directory)
        #expect(try adopted.store.dataFolderID() != nil)
        #expect(FileManager.default.fileExists(atPath: legacy.appendingPathComponent(DataFolderCheck.markerName).path))

        // The same legacy folder whose database knows none of its datasets: refused.
        let stranger = directory.path("stranger")
        try Self.folderWithADataset(stranger, directory)
        do {
            let service = try Self.service(stranger, directory)
            try service.store.pool.write { db in
                try db.execute(sql: "DELETE FROM data_folder")
                try db.execute(sql: "DELETE FROM datasets")
            }
        }
        try FileManager.default.removeItem(at: stranger.appendingPathComponent(DataFolderCheck.markerName))
        Self.expectRefusal(stranger, directory, saying: "knows none of them")
    }
}
