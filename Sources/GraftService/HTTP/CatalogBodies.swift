// JSON bodies for models and datasets, built from their records.
import Foundation

/// A model as GET /models and GET /models/:id show it.
struct ModelBody: Encodable {
    var id: String
    var name: String
    var kind: String
    var labels: JSONValue
    var weightsSha256: String
    var provenance: JSONValue
    var metrics: JSONValue
    var parentModelId: String?
    var createdAt: Date

    init(_ record: ModelRecord) {
        id = record.id
        name = record.name
        kind = record.kind.rawValue
        labels = JSONValue(parsing: record.labelsJSON)
        weightsSha256 = record.weightsHash
        provenance = JSONValue(parsing: record.provenanceJSON)
        metrics = JSONValue(parsing: record.metricsJSON)
        parentModelId = record.parentModelID
        createdAt = record.createdAt
    }
}

/// A dataset as GET /datasets and GET /datasets/:id show it.
struct DatasetBody: Encodable {
    var id: String
    var name: String
    var source: String
    var classCount: Int
    var imageCount: Int
    var labels: JSONValue
    var report: JSONValue
    var createdAt: Date

    init(_ record: DatasetRecord) {
        id = record.id
        name = record.name
        source = record.source.rawValue
        classCount = record.classCount
        imageCount = record.imageCount
        labels = JSONValue(parsing: record.labelsJSON)
        report = JSONValue(parsing: record.reportJSON)
        createdAt = record.createdAt
    }
}
