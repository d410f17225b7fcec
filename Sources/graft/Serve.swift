import ArgumentParser
import Foundation
import GraftService
import HTTPServer
import Logging

/// `graft serve`: the HTTP service — jobs, datasets, models and predictions — until SIGTERM or SIGINT.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the Graft HTTP service.",
        discussion: """
            State lives under --data (SQLite database, uploaded datasets, checkpoints, fine-tuned models). Base \
            models are read from Models/ (found through GRAFT_RESOURCES, the current directory or the folders \
            above the executable). Set GRAFT_API_TOKEN to require `Authorization: Bearer <token>` on every \
            route but /health, /ready and /openapi.json — reads and /metrics included, and POST /predict unless \
            --public-predict is given.
            """)

    @Option(help: "Address to bind (use 0.0.0.0 or :: to accept connections from other machines).")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one and prints it).") var port = 8080
    @Option(help: "Folder for the database, datasets, checkpoints and fine-tuned models.") var data = "var"
    @Option(help: "Fine-tuning jobs that run at once; more than one fights over the CPU cores.") var workers = 1
    @Option(help: "Folder that holds Migrations/ and Models/ (default: found automatically).")
    var resources: String?
    @Option(help: "Folder under which POST /datasets may name existing dataset folders.") var datasetRoot: String?
    @Option(help: "Base model used when a job names none.") var defaultBaseModel = "fmnist-resnet8"
    // Named by hand: the derived names would split "MiB" into "mi-b".
    @Option(name: .customLong("max-upload-mib"), help: "Largest dataset upload accepted, in MiB.") var maxUploadMiB = 2048
    @Option(name: .customLong("model-cache-mib"),
            help: "Memory the models loaded for predictions may hold, in MiB (least recently used ones are unloaded).")
    var modelCacheMiB = 1024
    @Option(name: .customLong("decode-budget-mib"),
            help: "Memory all predictions may spend decoding images at once, in MiB (beyond it a request gets 503 with Retry-After).")
    var decodeBudgetMiB = 1024
    @Option(name: .customLong("v2-max-body-mib"),
            help: "Largest body of a V2 infer request (POST /v2/models/{name}/infer), in MiB.")
    var v2MaxBodyMiB = 64
    @Flag(help: "Serve POST /predict and the V2 model routes without the GRAFT_API_TOKEN (every other guarded route still needs it).")
    var publicPredict = false
    @Option(help: "Connections served at once; beyond them (and a reserve of 8 for /health and /ready) a 503.")
    var maxConnections = 1024
    @Option(help: "Connections one client (an IPv4 address, an IPv6 /64) may hold; behind a reverse proxy, raise it.")
    var maxConnectionsPerClient = 64
    @Option(name: .customLong("min-body-kib-per-second"),
            help: "Average rate a request body must keep after its first 10 s, in KiB/s (408 below it; 0: no floor).")
    var minBodyKiBPerSecond = 16
    @Option(name: .customLong("job-memory-mib"),
            help: "Memory one fine-tuning job may need, in MiB; larger jobs are refused (default: half the machine's).")
    var jobMemoryMiB: Int?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1.") }
        guard maxUploadMiB >= 1 else { throw ValidationError("--max-upload-mib must be at least 1.") }
        guard modelCacheMiB >= 1 else { throw ValidationError("--model-cache-mib must be at least 1.") }
        guard decodeBudgetMiB >= 1 else { throw ValidationError("--decode-budget-mib must be at least 1.") }
        guard v2MaxBodyMiB >= 1 else { throw ValidationError("--v2-max-body-mib must be at least 1.") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1.") }
        guard maxConnectionsPerClient >= 1 else {
            throw ValidationError("--max-connections-per-client must be at least 1.")
        }
        guard minBodyKiBPerSecond >= 0 else {
            throw ValidationError("--min-body-kib-per-second must be 0 (no floor) or more.")
        }
        if let jobMemoryMiB, jobMemoryMiB < 256 {
            throw ValidationError("--job-memory-mib must be at least 256 (a job's process needs about 128 MiB alone).")
        }
    }

    func run() throws {
        // Lines are written by a background thread (an access-log line per request must not cost a write on the
        // request's thread); warnings and errors are written at once.
        LoggingSystem.bootstrap { BufferedLogHandler(label: $0) }
        var configuration = ServiceConfiguration(dataDirectory: URL(fileURLWithPath: data, isDirectory: true),
                                                 resourcesRoot: resources.map { URL(fileURLWithPath: $0) })
        configuration.workerCount = workers
        configuration.datasetRoot = datasetRoot.map { URL(fileURLWithPath: $0, isDirectory: true) }
        configuration.maxUploadBytes = maxUploadMiB << 20
        configuration.modelCacheBytes = modelCacheMiB << 20
        configuration.decodeBudgetBytes = decodeBudgetMiB << 20
        configuration.v2MaxBodyBytes = v2MaxBodyMiB << 20
        if let jobMemoryMiB { configuration.jobLimits.memoryBudgetBytes = jobMemoryMiB << 20 }
        let service = try Service(configuration: configuration, runner: FineTuningJobRunner())
        let environment = ProcessInfo.processInfo.environment
        let token = environment["GRAFT_API_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        var http = HTTPServerConfiguration(host: self.host, port: port)
        http.maxConnections = maxConnections
        http.maxConnectionsPerClient = maxConnectionsPerClient
        http.minimumBodyBytesPerSecond = minBodyKiBPerSecond << 10
        let host = ServiceHost(service: service, http: http, apiToken: token, publicPredict: publicPredict,
                               defaultBaseModelID: defaultBaseModel, bootstrapMetrics: true)
        try host.start(stopOnSignals: true)
        let models = service.baseModels.registered.joined(separator: ", ")
        // Through the logger, flushed at once, so the line shows under nohup or systemd too.
        let message = "Graft is serving http://\(self.host):\(host.port) with base models: \(models.isEmpty ? "none" : models); "
            + "data under \(configuration.dataDirectory.path). Ctrl-C stops it."
        Logger(label: "graft").notice("\(message)")
        LogWriter.standardError.flush()
        host.waitUntilStopped()
        LogWriter.standardError.flush()
    }
}
