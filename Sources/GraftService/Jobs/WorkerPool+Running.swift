// Running one claimed job: heartbeat timer, reporter, and turning the runner's outcome into the job's ending.
import Foundation
import Logging
import Metrics

extension WorkerPool {
    func run(_ job: JobRecord, workerID: String) {
        let checkpointDirectory = configuration.checkpointRoot.appendingPathComponent(job.id, isDirectory: true)
        let resultModelID = makeIdentifier(prefix: "model")
        let outputDirectory = configuration.modelOutputRoot.appendingPathComponent(resultModelID, isDirectory: true)
        let reporter = StoreJobReporter(store: store, jobID: job.id, workerID: workerID, pool: self)
        let heartbeat = startHeartbeat(reporter: reporter)
        defer { heartbeat.cancel() }
        let started = Date()
        let metadata: Logger.Metadata = ["job": "\(job.id)", "worker": "\(workerID)", "attempt": "\(job.attempt)"]
        logger.info("Job started", metadata: metadata)

        do {
            // A model or dataset deleted since submission leaves nil here; the runner says which is missing.
            let baseModelDirectory = job.baseModelID.flatMap { try? store.model(id: $0) }
                .map { URL(fileURLWithPath: $0.path, isDirectory: true) }
            let datasetDirectory = job.datasetID.flatMap { try? store.dataset(id: $0) }
                .map { URL(fileURLWithPath: $0.path, isDirectory: true) }
            var ticket = JobTicket(jobID: job.id, attempt: job.attempt, specJSON: job.specJSON,
                                   baseModelID: job.baseModelID, datasetID: job.datasetID,
                                   baseModelDirectory: baseModelDirectory, datasetDirectory: datasetDirectory,
                                   checkpointDirectory: checkpointDirectory, outputDirectory: outputDirectory,
                                   resultModelID: resultModelID)
            ticket.predictionsActive = predictionsActive
            ticket.limits = configuration.jobLimits
            let result = try runner.run(ticket, reporter: reporter)
            let model = result.model.map { produced in
                ModelRecord(id: resultModelID, name: produced.name, kind: .fineTuned, path: outputDirectory.path,
                            weightsHash: produced.weightsHash, labelsJSON: Self.jsonArray(produced.labels),
                            provenanceJSON: produced.provenanceJSON, metricsJSON: produced.metricsJSON,
                            parentModelID: job.baseModelID)
            }
            if model == nil { try? FileManager.default.removeItem(at: outputDirectory) }
            record(.succeeded(model: model, outputDirectory: outputDirectory), job: job, workerID: workerID,
                   started: started, metadata: metadata)
        } catch let stopped as JobStopped {
            try? FileManager.default.removeItem(at: outputDirectory)
            let ending: JobEnding = stopped.reason == .cancellationRequested
                ? .cancelled : .released(reason: stopped.description)
            record(ending, job: job, workerID: workerID, started: started, metadata: metadata)
        } catch let error as ServiceError where error.code == "lease_lost" {
            // Someone else owns the job now (recovery judged this worker dead): write nothing more.
            try? FileManager.default.removeItem(at: outputDirectory)
            logger.warning("Job lost its lease", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        } catch {
            try? FileManager.default.removeItem(at: outputDirectory)
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            record(.failed(message: message), job: job, workerID: workerID, started: started, metadata: metadata)
        }
    }

    /// Writes the job's heartbeat every `heartbeatInterval` on its own queue, so a long step keeps its lease.
    private func startHeartbeat(reporter: StoreJobReporter) -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "graft.heartbeat", qos: .utility))
        let interval = DispatchTimeInterval.milliseconds(Int(configuration.heartbeatInterval * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak reporter] in reporter?.beat() }
        timer.resume()
        return timer
    }

    func removeCheckpoint(jobID: String) {
        try? FileManager.default.removeItem(at: configuration.checkpointRoot.appendingPathComponent(jobID))
    }

    static func jsonArray(_ strings: [String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: strings)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The reporter a runner gets: writes into the store as the job's owner, and answers "should I stop?".
final class StoreJobReporter: JobReporter, @unchecked Sendable {
    let store: Store
    let jobID: String
    let workerID: String
    private weak var pool: WorkerPool?
    private let lock = NSLock()
    private var leaseError: ServiceError?

    init(store: Store, jobID: String, workerID: String, pool: WorkerPool) {
        self.store = store
        self.jobID = jobID
        self.workerID = workerID
        self.pool = pool
    }

    func reportProgress(_ progress: JobProgress) throws {
        try guarded { _ = try store.recordProgress(jobID: jobID, workerID: workerID, progress: progress) }
    }

    func recordMetrics(_ values: [MetricValue]) throws {
        try guarded { try store.recordMetrics(jobID: jobID, workerID: workerID, values) }
    }

    func recordEvent(kind: String, message: String, data: [String: Any]) throws {
        try guarded { try store.appendEvent(jobID: jobID, workerID: workerID, kind: kind, message: message, data: data) }
    }

    func checkForStop() throws {
        // Read the status afresh every step: a cancellation may have come from another process.
        let status = try guarded { try store.statusForOwner(jobID: jobID, workerID: workerID) }
        if status == .cancelling { throw JobStopped(reason: .cancellationRequested) }
        if pool?.stopRequested ?? true { throw JobStopped(reason: .shutdown) }
    }

    /// Called by the heartbeat timer.
    func beat() {
        do {
            try guarded { _ = try store.heartbeat(jobID: jobID, workerID: workerID) }
        } catch {
            // Remembered by `guarded` when the lease is lost; other failures retry on the next beat.
        }
    }

    /// Runs a store call, remembering a lost lease so that every later call fails the same way.
    private func guarded<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        let known = leaseError
        lock.unlock()
        if let known { throw known }
        do {
            return try body()
        } catch let error as ServiceError where error.code == "lease_lost" {
            lock.lock()
            leaseError = error
            lock.unlock()
            throw error
        }
    }
}
