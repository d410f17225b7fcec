// The service's back end in one object: data folder layout, store, worker pool, start-up recovery and shutdown.
import Foundation
import Logging
import Tensors

/// Where the service keeps its state, and how many jobs it runs at once.
public struct ServiceConfiguration: Sendable {
    /// The data folder (default `./var`): database, uploaded datasets, checkpoints and fine-tuned models.
    public var dataDirectory: URL
    /// The folder holding `Migrations/` and `Models/`; nil searches as `ResourceLocator` does.
    public var resourcesRoot: URL?
    /// Jobs that run at once (default 1: on two cores, jobs queue rather than fight).
    public var workerCount: Int = 1
    public var heartbeatInterval: TimeInterval = 5
    public var staleAfter: TimeInterval = 60
    public var maxAttempts: Int = 3
    /// The folder under which `POST /datasets` may name existing folders (`{"folder": "..."}`); nil refuses them.
    public var datasetRoot: URL?
    /// The largest dataset archive accepted.
    public var maxUploadBytes: Int = 2 << 30
    /// The memory models loaded for predictions may hold, all their copies counted; least recently used first out.
    public var modelCacheBytes: Int = 1 << 30
    /// The memory all predictions may spend decoding images at once; beyond it a request answers 503.
    public var decodeBudgetBytes: Int = 1 << 30
    /// The largest body of a V2 infer request (a preprocessed FP32 batch of 64 224×224 images is 37 MiB binary).
    public var v2MaxBodyBytes: Int = 64 << 20
    /// What one job may need (memory, steps, metric rows), checked on submission and kept to while it runs.
    public var jobLimits = JobLimits()

    public init(dataDirectory: URL = URL(fileURLWithPath: "var", isDirectory: true), resourcesRoot: URL? = nil) {
        self.dataDirectory = dataDirectory
        self.resourcesRoot = resourcesRoot
    }

    public var databaseURL: URL { dataDirectory.appendingPathComponent("graft.sqlite") }
    public var datasetsDirectory: URL { dataDirectory.appendingPathComponent("datasets", isDirectory: true) }
    public var checkpointsDirectory: URL { dataDirectory.appendingPathComponent("checkpoints", isDirectory: true) }
    public var modelsDirectory: URL { dataDirectory.appendingPathComponent("models", isDirectory: true) }
}

/// Opens the store (migrating it), owns the worker pool, and submits jobs; the HTTP routes sit on top of it.
public final class Service: @unchecked Sendable {
    public let configuration: ServiceConfiguration
    public let store: Store
    public let workers: WorkerPool
    /// Predictions with any registered model (its own compute lane and model cache).
    public let predictor: Predictor
    /// The `Models/` folder of base models.
    public let baseModelsDirectory: URL
    /// What registering the base models under `Models/` found at start-up.
    public let baseModels: BaseModelCatalog.Report
    let logger: Logger
    /// Held while `POST /models` imports: one model's converted weights in memory at a time.
    let modelImports = NSLock()

    /// Creates the data folders, finds `Migrations/` and `Models/`, opens and migrates the database, and
    /// registers the base models.
    /// Nothing runs until `start()`.
    public init(configuration: ServiceConfiguration, runner: JobRunner,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                logger: Logger = Logger(label: "graft.service")) throws {
        self.configuration = configuration
        self.logger = logger
        let locator = ResourceLocator(explicitRoot: configuration.resourcesRoot, environment: environment)
        let migrations = try locator.locate("Migrations")
        baseModelsDirectory = try locator.locate("Models")
        for folder in [configuration.dataDirectory, configuration.datasetsDirectory,
                       configuration.checkpointsDirectory, configuration.modelsDirectory] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        store = try Store(databaseURL: configuration.databaseURL, migrationsDirectory: migrations)
        try DataFolderCheck(dataDirectory: configuration.dataDirectory, datasetsDirectory: configuration.datasetsDirectory,
                            modelsDirectory: configuration.modelsDirectory).verify(store)
        var poolConfiguration = WorkerPool.Configuration(checkpointRoot: configuration.checkpointsDirectory,
                                                         modelOutputRoot: configuration.modelsDirectory)
        poolConfiguration.workerCount = configuration.workerCount
        poolConfiguration.heartbeatInterval = configuration.heartbeatInterval
        poolConfiguration.staleAfter = configuration.staleAfter
        poolConfiguration.maxAttempts = configuration.maxAttempts
        poolConfiguration.jobLimits = configuration.jobLimits
        let workers = WorkerPool(store: store, runner: runner, configuration: poolConfiguration, logger: logger)
        self.workers = workers
        // Predictions keep to one thread while a job trains and use every core when none does.
        let cores = ComputeContext.availableCores
        predictor = Predictor(store: store, maximumCachedBytes: configuration.modelCacheBytes,
                              context: ComputeContext(threads: 1),
                              idleLanes: (1..<max(1, cores)).map { _ in ComputeContext(threads: 1) },
                              wideContext: cores > 1 ? ComputeContext() : nil,
                              decodeBudget: DecodeBudget(limitBytes: configuration.decodeBudgetBytes),
                              isTrainingActive: { workers.isBusy })
        let predictor = self.predictor
        workers.predictionsActive = { predictor.isActive }
        baseModels = try BaseModelCatalog(directory: baseModelsDirectory).synchronize(into: store)
        for skipped in baseModels.skipped {
            logger.warning("Base model folder skipped", metadata: ["folder": "\(skipped.folder)",
                                                                   "reason": "\(skipped.reason)"])
        }
        logger.info("Store ready", metadata: ["database": "\(configuration.databaseURL.path)",
                                              "migrations": "\(migrations.path)"])
    }

    /// Recovers jobs a dead process left running (they resume from their checkpoints) and starts the workers.
    public func start() throws {
        try workers.start()
    }

    /// Queues a job (or returns the one an earlier request with the same idempotency key made) and wakes a worker.
    public func submitJob(_ submission: JobSubmission) throws -> (job: JobRecord, created: Bool) {
        let result = try store.submitJob(submission)
        if result.created { workers.notifyJobQueued() }
        return result
    }

    /// Lets running jobs finish their step and checkpoint, puts them back in the queue, and stops the workers.
    public func shutdown() {
        logger.info("Shutting down: running jobs checkpoint and resume on the next start")
        workers.stop()
    }
}
