// Start-up's check that the database belongs to the data folder beside it, so that an emptied, replaced or foreign
// database never starts a service that silently orphans the datasets and models on disk.
import Foundation
import GRDB

/// Matches the database's `data_folder` row against the folder's `data-folder-id` file, both written on the first
/// start; refuses to start (with the folder, what it holds and the commands that recover) when they disagree while
/// `datasets/` or `models/` hold artefacts.
struct DataFolderCheck {
    static let markerName = "data-folder-id"

    var dataDirectory: URL
    var datasetsDirectory: URL
    var modelsDirectory: URL

    /// Verifies `store` against the folder, and records the identity where it is missing and nothing is at risk.
    func verify(_ store: Store, now: Date = Date()) throws {
        let marker = dataDirectory.appendingPathComponent(Self.markerName)
        let folderID = (try? String(contentsOf: marker, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let databaseID = try store.dataFolderID()
        let datasets = artefacts(in: datasetsDirectory), models = artefacts(in: modelsDirectory)
        let atRisk = !datasets.isEmpty || !models.isEmpty

        if atRisk {
            let problem: String?
            switch (databaseID, folderID) {
            case let (database?, folder?) where database != folder:
                problem = "belongs to another data folder (its id \(database), this folder's \(folder))"
            case (nil, _?):
                problem = "is empty or was replaced (it has no data folder id, and this folder has one)"
            case (_, nil):
                // A folder from before identities were recorded: the database must know some of its artefacts.
                let known = try store.knownArtefacts(datasetIDs: datasets, modelIDs: models)
                problem = known > 0 ? nil : "knows none of them (it is empty, or another folder's)"
            default:
                problem = nil
            }
            if let problem { throw refusal(problem, datasets: datasets.count, models: models.count, store: store, now: now) }
        }
        let identity = databaseID ?? folderID ?? UUID().uuidString.lowercased()
        if databaseID == nil { try store.recordDataFolderID(identity, now: now) }
        if folderID != identity {
            do {
                try Data((identity + "\n").utf8).write(to: marker, options: .atomic)
            } catch {
                throw ServiceError.storage(message: "Cannot write \(marker.path): \(error.localizedDescription). "
                    + "Check that the data folder is writable.")
            }
        }
    }

    /// Entry names of a folder that stand for artefacts: hidden files and half-received uploads are not.
    private func artefacts(in folder: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".upload") }.sorted()
    }

    private func refusal(_ problem: String, datasets: Int, models: Int, store: Store, now: Date) -> ServiceError {
        let folder = dataDirectory.standardizedFileURL.path
        let stamp = Timestamp.string(from: now).prefix(10)
        return .storage(message: """
            The data folder \(folder) holds \(datasets) dataset(s) in datasets/ and \(models) model(s) in models/, \
            but its database \(store.databaseURL.standardizedFileURL.path) \(problem). Starting would orphan them, \
            so the service does not start. To recover, restore graft.sqlite (with its -wal file) from a backup, or \
            pass --data the folder this database belongs to. To start afresh and keep the files aside: \
            mv \(folder) \(folder).orphaned-\(stamp)
            """)
    }
}

extension Store {
    /// The data folder identity recorded in the database, if any.
    func dataFolderID() throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT id FROM data_folder LIMIT 1") }
    }

    func recordDataFolderID(_ id: String, now: Date) throws {
        try write { db in
            try db.execute(sql: "INSERT INTO data_folder (id, created_at) VALUES (?, ?)",
                           arguments: [id, Timestamp.string(from: now)])
        }
    }

    /// How many of these dataset and model ids have rows.
    func knownArtefacts(datasetIDs: [String], modelIDs: [String]) throws -> Int {
        try read { db in
            var known = 0
            for id in datasetIDs {
                known += try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM datasets WHERE id = ?", arguments: [id]) ?? 0
            }
            for id in modelIDs {
                known += try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM models WHERE id = ?", arguments: [id]) ?? 0
            }
            return known
        }
    }
}
