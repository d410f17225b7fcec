// A Dispatch worker pool that claims queued jobs from the store and runs them through a JobRunner.
import Foundation
import Logging
import Metrics

/// Runs jobs on a fixed number of Dispatch queues (default 1: on two cores, jobs queue rather than fight).
///
/// Each worker claims the oldest queued job atomically, heartbeats while it runs, lets the runner report
/// progress, metrics and events into the store, and ends the job as succeeded, failed or cancelled. `stop()`
/// lets every running job finish its current step, checkpoint and go back to the queue.
public final class WorkerPool: @unchecked Sendable {
    /// Settings for the pool.
    public struct Configuration: Sendable {
        /// Jobs that run at once.
        public var workerCount: Int = 1
        /// How often an idle worker looks for jobs submitted by other processes.
        public var pollInterval: TimeInterval = 1
        /// How often a running job's heartbeat is written, even during a long step.
        public var heartbeatInterval: TimeInterval = 5
        /// A running job whose heartbeat is older than this is considered abandoned by recovery.
        public var staleAfter: TimeInterval = 60
        /// Claims after which a job whose worker keeps dying is failed instead of requeued.
        public var maxAttempts: Int = 3
        /// How often the recovery loop retries job endings the store refused (disk full, database busy) and
        /// looks for jobs abandoned by dead or silent workers. Below `staleAfter`, so a job whose ending is pending
        /// keeps a live heartbeat.
        public var recoveryInterval: TimeInterval = 5
        /// Refused tries after which a success that cannot be recorded is recorded as a failure instead (its model
        /// removed); failures and cancellations are retried until they are recorded.
        public var endingTriesBeforeFailing: Int = 12
        /// Checkpoints live in `<checkpointRoot>/<job id>/`.
        public var checkpointRoot: URL
        /// Fine-tuned models are written to `<modelOutputRoot>/<model id>/`.
        public var modelOutputRoot: URL
        /// Handed to every job's runner (metric rows, memory).
        public var jobLimits = JobLimits()

        public init(checkpointRoot: URL, modelOutputRoot: URL) {
            self.checkpointRoot = checkpointRoot
            self.modelOutputRoot = modelOutputRoot
        }
    }

    public let store: Store
    public let runner: JobRunner
    public let configuration: Configuration
    public let identity: WorkerIdentity
    let logger: Logger

    let lock = NSCondition()
    private var isStopping = false
    private var isStarted = false
    /// Workers claiming or running a job.
    private var busyWorkers = 0
    private let wakeUp = DispatchSemaphore(value: 0)
    private let workersDone = DispatchGroup()
    /// Job endings the store refused, retried by the recovery loop (guarded by `lock`).
    var pendingEndings: [PendingEnding] = []
    var recoveryTimer: DispatchSourceTimer?
    let recoveryQueue = DispatchQueue(label: "graft.recovery", qos: .utility)

    public init(store: Store, runner: JobRunner, configuration: Configuration,
                identity: WorkerIdentity = .current(), logger: Logger = Logger(label: "graft.workers")) {
        precondition(configuration.workerCount >= 1, "a pool needs at least one worker")
        self.store = store
        self.runner = runner
        self.configuration = configuration
        self.identity = identity
        self.logger = logger
    }

    // MARK: - Life cycle

    /// Recovers jobs abandoned by dead workers, then starts the workers.
    public func start() throws {
        try recoverAbandonedJobs()
        lock.lock()
        precondition(!isStarted, "a pool starts once")
        isStarted = true
        lock.unlock()
        startRecoveryLoop()
        for index in 0..<configuration.workerCount {
            let queue = DispatchQueue(label: "graft.worker.\(index)", qos: .utility)
            workersDone.enter()
            queue.async { [self] in
                defer { workersDone.leave() }
                workLoop(index: index)
            }
        }
        logger.info("Worker pool started", metadata: ["workers": "\(configuration.workerCount)"])
    }

    /// Requeues (or fails) jobs that workers of dead processes, or silent workers, left running.
    @discardableResult
    public func recoverAbandonedJobs(now: Date = Date()) throws -> [RecoveredJob] {
        let recovered = try store.recoverAbandonedJobs(
            staleBefore: now.addingTimeInterval(-configuration.staleAfter), maxAttempts: configuration.maxAttempts,
            isOwnerAlive: { WorkerIdentity.isProcessAlive(workerID: $0) }, now: now)
        for job in recovered {
            logger.warning("Recovered abandoned job", metadata: ["job": "\(job.jobID)", "reason": "\(job.reason)"])
            if job.newStatus != .queued { removeCheckpoint(jobID: job.jobID) }
        }
        return recovered
    }

    /// Wakes an idle worker: call after queueing a job.
    public func notifyJobQueued() {
        wakeUp.signal()
    }

    /// Asks running jobs to checkpoint and stop after their current step, and idle workers to exit; returns at once.
    public func requestStop() {
        lock.lock()
        isStopping = true
        lock.broadcast()
        lock.unlock()
        // Recorded so that, if a supervisor kills the process before its jobs are handed back, recovery does not
        // take the kill for a crash the jobs caused.
        do {
            try store.markStopRequested(workerIDs: (0..<configuration.workerCount).map(identity.workerID))
        } catch {
            logger.warning("Could not note the shutdown on running jobs", metadata: ["error": "\(error)"])
        }
        for _ in 0..<configuration.workerCount { wakeUp.signal() }
    }

    /// `requestStop()`, then waits until every worker has exited (running jobs are back in the queue).
    public func stop() {
        requestStop()
        workersDone.wait()
        stopRecoveryLoop()
        logger.info("Worker pool stopped")
    }

    /// Handed to every job: whether the service's predictions are busy (the service wires it to its predictor).
    public var predictionsActive: @Sendable () -> Bool {
        get { lock.lock(); defer { lock.unlock() }; return predictionsActiveCheck }
        set { lock.lock(); predictionsActiveCheck = newValue; lock.unlock() }
    }
    private var predictionsActiveCheck: @Sendable () -> Bool = { false }

    /// True while some worker is claiming or running a job (predictions then keep to their own lane).
    public var isBusy: Bool {
        lock.lock()
        defer { lock.unlock() }
        return busyWorkers > 0
    }

    /// Whether `requestStop()` was called.
    public var stopRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return isStopping
    }

    /// Blocks until no job is queued, none runs in this pool and no ending waits to be recorded (for tests and
    /// one-shot command-line runs).
    public func waitUntilIdle() throws {
        while true {
            // Queue first, then workers: a worker counts itself busy before it claims, so a job claimed after
            // the queue was read is seen as busy here.
            let queued = try store.jobCountsByStatus()[.queued] ?? 0
            lock.lock()
            let busy = busyWorkers > 0 || !pendingEndings.isEmpty
            lock.unlock()
            if !busy && (queued == 0 || stopRequested) { return }
            lock.lock()
            _ = lock.wait(until: Date().addingTimeInterval(0.02))
            lock.unlock()
        }
    }

    // MARK: - Workers

    private func workLoop(index: Int) {
        let workerID = identity.workerID(index)
        while !stopRequested {
            do {
                if try processNextJob(workerID: workerID) { continue }
            } catch {
                logger.error("Worker could not claim a job", metadata: ["worker": "\(workerID)", "error": "\(error)"])
            }
            _ = wakeUp.wait(timeout: .now() + configuration.pollInterval)
        }
    }

    /// Claims and runs one queued job on the calling thread; returns false when none was queued.
    @discardableResult
    public func processNextJob(workerID: String) throws -> Bool {
        lock.lock()
        busyWorkers += 1
        lock.unlock()
        defer {
            lock.lock()
            busyWorkers -= 1
            lock.broadcast()
            lock.unlock()
        }
        guard !stopRequested, let job = try store.claimNextQueuedJob(workerID: workerID) else { return false }
        run(job, workerID: workerID)
        return true
    }
}
