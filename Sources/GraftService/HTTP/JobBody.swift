// JSON bodies for jobs: what GET /jobs/:id, GET /jobs and POST /jobs return, built from records.
import Foundation

/// A job as the API shows it: status, timestamps, position, fraction done, ETA, metrics, error and result.
struct JobBody: Encodable {
    struct Progress: Encodable {
        var epoch: Int
        var totalEpochs: Int
        var step: Int
        var totalSteps: Int
        var fractionDone: Double
        /// Seconds left at the pace so far; nil until a step has run.
        var etaSeconds: Double?
    }

    var id: String
    var status: String
    var baseModelId: String?
    var datasetId: String?
    var spec: JSONValue
    var attempt: Int
    var progress: Progress
    /// The newest value of each metric.
    var latestMetrics: [String: Double]
    /// The best epoch value of each metric (lowest loss, highest accuracy).
    var bestMetrics: [String: Double]
    var error: String?
    var resultModelId: String?
    /// Under `"freeze": "auto"`: the candidates scored so far (policy, validation score, cost), then the choice and
    /// why — the newest `freeze_search` event's data; nil for other jobs and before the probe ends.
    var freezeSearch: JSONValue?
    var createdAt: Date
    var startedAt: Date?
    var finishedAt: Date?
    var updatedAt: Date

    init(_ job: JobRecord, metrics: [JobMetricRecord] = [], freezeSearch: JobEventRecord? = nil) {
        self.freezeSearch = freezeSearch.map { JSONValue(parsing: $0.dataJSON) }
        id = job.id
        status = job.status.rawValue
        baseModelId = job.baseModelID
        datasetId = job.datasetID
        spec = JSONValue(parsing: job.specJSON)
        attempt = job.attempt
        var eta: Double?
        if job.status == .running || job.status == .cancelling, let started = job.startedAt,
           job.fractionDone > 0, job.fractionDone < 1 {
            let elapsed = max(0, job.updatedAt.timeIntervalSince(started))
            eta = elapsed / job.fractionDone * (1 - job.fractionDone)
        }
        progress = Progress(epoch: job.epoch, totalEpochs: job.totalEpochs, step: job.step,
                            totalSteps: job.totalSteps, fractionDone: job.fractionDone, etaSeconds: eta)
        (latestMetrics, bestMetrics) = Self.summarize(metrics)
        error = job.error
        resultModelId = job.resultModelID
        createdAt = job.createdAt
        startedAt = job.startedAt
        finishedAt = job.finishedAt
        updatedAt = job.updatedAt
    }

    /// Latest value per name (the highest step, epoch values winning ties), and the best epoch value per name:
    /// the minimum for names containing "loss", the maximum otherwise.
    static func summarize(_ metrics: [JobMetricRecord]) -> (latest: [String: Double], best: [String: Double]) {
        var latest: [String: (step: Int, isEpoch: Bool, value: Double)] = [:]
        var best: [String: Double] = [:]
        for metric in metrics {
            let isEpoch = metric.scope == .epoch
            if let current = latest[metric.name],
               (current.step, current.isEpoch ? 1 : 0) > (metric.step, isEpoch ? 1 : 0) {
                // Keep the newer one.
            } else {
                latest[metric.name] = (metric.step, isEpoch, metric.value)
            }
            guard isEpoch else { continue }
            let lowerIsBetter = metric.name.contains("loss")
            if let current = best[metric.name] {
                best[metric.name] = lowerIsBetter ? min(current, metric.value) : max(current, metric.value)
            } else {
                best[metric.name] = metric.value
            }
        }
        return (latest.mapValues(\.value), best)
    }
}

/// One point of a job's metric series.
struct MetricBody: Encodable {
    var scope: String
    var epoch: Int
    var step: Int
    var name: String
    var value: Double
    var recordedAt: Date

    init(_ record: JobMetricRecord) {
        scope = record.scope.rawValue
        epoch = record.epoch
        step = record.step
        name = record.name
        value = record.value
        recordedAt = record.recordedAt
    }
}

/// A page of items with the offset of the next page.
struct PageBody<Item: Encodable>: Encodable {
    var items: [Item]
    var limit: Int
    var offset: Int
    /// The offset of the next page, nil on the last one.
    var nextOffset: Int?
}
