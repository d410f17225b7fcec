// One row of the `datasets` table: an uploaded or referenced image folder and its validation summary.
import Foundation
import GRDB

/// A row of `datasets`.
public struct DatasetRecord: Equatable, Sendable {
    /// Where the dataset came from.
    public enum Source: String, Sendable {
        /// An uploaded archive, unpacked under the data directory.
        case upload
        /// A folder under the configured data root, used in place.
        case folder
    }

    public var id: String
    public var name: String
    public var source: Source
    /// The folder of class folders on disk.
    public var path: String
    /// SHA-256 of the uploaded archive, when there was one.
    public var contentHash: String?
    public var classCount: Int
    public var imageCount: Int
    /// The class labels as a JSON array.
    public var labelsJSON: String
    /// The validation report as a JSON object.
    public var reportJSON: String
    public var createdAt: Date

    public init(id: String, name: String, source: Source, path: String, contentHash: String? = nil,
                classCount: Int = 0, imageCount: Int = 0, labelsJSON: String = "[]", reportJSON: String = "{}",
                createdAt: Date = Date()) {
        self.id = id
        self.name = name
        self.source = source
        self.path = path
        self.contentHash = contentHash
        self.classCount = classCount
        self.imageCount = imageCount
        self.labelsJSON = labelsJSON
        self.reportJSON = reportJSON
        self.createdAt = createdAt
    }
}

extension DatasetRecord: FetchableRecord {
    public init(row: Row) throws {
        let sourceText: String = row["source"]
        guard let source = Source(rawValue: sourceText) else {
            throw ServiceError.storage(message: "Dataset row has unknown source '\(sourceText)'.")
        }
        self.init(id: row["id"], name: row["name"], source: source, path: row["path"],
                  contentHash: row["content_hash"], classCount: row["class_count"], imageCount: row["image_count"],
                  labelsJSON: row["labels_json"], reportJSON: row["report_json"],
                  createdAt: try row.requiredTimestamp("created_at"))
    }
}
