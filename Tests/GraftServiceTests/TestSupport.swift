// Helpers for GraftService tests: temporary folders, the repository's migrations, and fresh stores.
import Foundation
@testable import GraftService

/// A temporary folder removed when the value is deinitialised.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("graft-service-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    func path(_ component: String) -> URL {
        url.appendingPathComponent(component)
    }
}

enum TestSupport {
    /// The repository's `Migrations/` folder.
    static let repositoryMigrations: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Migrations", isDirectory: true)

    /// A store on a new database file in `directory`, migrated with the repository's migrations.
    static func makeStore(in directory: TemporaryDirectory, name: String = "graft.sqlite") throws -> Store {
        try Store(databaseURL: directory.path(name), migrationsDirectory: repositoryMigrations)
    }

    /// A copy of the repository's migrations in a folder the test may change.
    static func copyOfMigrations(in directory: TemporaryDirectory) throws -> URL {
        let copy = directory.path("Migrations")
        try FileManager.default.copyItem(at: repositoryMigrations, to: copy)
        return copy
    }

    /// The repository's embedded base model folder (ResNet-8 for 28×28 grey images).
    static let repositoryBaseModel: URL = repositoryMigrations.deletingLastPathComponent()
        .appendingPathComponent("Models/fmnist-resnet8", isDirectory: true)

    /// Registers a base model (the repository's ResNet-8, so that submissions can size jobs from its manifest) and
    /// a dataset so jobs can name them.
    static func seedCatalog(_ store: Store) throws {
        try store.upsertBaseModel(ModelRecord(id: "base-tiny", name: "tiny", kind: .base, path: repositoryBaseModel.path,
                                              weightsHash: String(repeating: "0", count: 64)))
        try store.insertDataset(DatasetRecord(id: "ds-1", name: "shapes", source: .folder, path: "/data/shapes",
                                              classCount: 2, imageCount: 20, labelsJSON: #"["a","b"]"#))
    }
}
