// The Service façade: data layout, start-up recovery, submission waking a worker, and graceful shutdown.
import Foundation
import Logging
import Testing
@testable import GraftService

@Suite(.serialized) struct ServiceTests {
    static func makeResources(in directory: TemporaryDirectory) throws -> URL {
        let root = directory.path("resources")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Models"),
                                                withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestSupport.repositoryMigrations,
                                         to: root.appendingPathComponent("Migrations"))
        return root
    }

    static func quietLogger() -> Logger {
        var logger = Logger(label: "graft.service.test")
        logger.logLevel = .error
        return logger
    }

    @Test func submitRunsTheJobAndShutdownRequeuesARunningOne() throws {
        let directory = try TemporaryDirectory()
        var configuration = ServiceConfiguration(dataDirectory: directory.path("var"),
                                                 resourcesRoot: try Self.makeResources(in: directory))
        configuration.heartbeatInterval = 0.05
        let runner = CountingRunner()
        let reached = DispatchSemaphore(value: 0), proceed = DispatchSemaphore(value: 0)
        runner.beforeStep = { _, step in
            if step == 3 { reached.signal(); _ = proceed.wait(timeout: .now() + 120) }
        }
        let service = try Service(configuration: configuration, runner: runner, environment: [:],
                                  logger: Self.quietLogger())
        for folder in ["graft.sqlite", "datasets", "checkpoints", "models"] {
            #expect(FileManager.default.fileExists(atPath: directory.path("var/\(folder)").path), "\(folder)")
        }
        #expect(service.baseModels.registered.isEmpty && service.baseModels.skipped.isEmpty)
        try service.start()
        let job = try service.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 5, checkpointEvery: 10),
                                                      idempotencyKey: "once"))
        #expect(job.created)
        guard waitOrRecord(reached, "step 3") else { return }

        // What `graft serve` does on SIGTERM (the HTTP server's signal handling calls it): shut down while a
        // step is under way. The paused step then goes on, so the runner can checkpoint and return.
        let stopped = DispatchSemaphore(value: 0)
        Thread {
            service.shutdown()
            stopped.signal()
        }.start()
        while !service.workers.stopRequested { usleep(1000) }
        proceed.signal()
        guard waitOrRecord(stopped, "shutdown") else { return }

        let after = try service.store.job(id: job.job.id)
        #expect(after.status == .queued && after.step == 2)
        #expect(try CountingRunner.loadCheckpoint(in: directory.path("var/checkpoints/\(job.job.id)")) == 2)
        // The same request again returns the same job.
        let again = try service.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 5, checkpointEvery: 10),
                                                        idempotencyKey: "once"))
        #expect(!again.created && again.job.id == job.job.id)

        // The next start resumes it.
        runner.beforeStep = nil
        let restarted = try Service(configuration: configuration, runner: runner, environment: [:],
                                    logger: Self.quietLogger())
        try restarted.start()
        try restarted.workers.waitUntilIdle()
        restarted.shutdown()
        #expect(try restarted.store.job(id: job.job.id).status == .succeeded)
        #expect(runner.executedSteps(of: job.job.id) == [1, 2, 3, 4, 5])
    }

    @Test func missingResourcesStopStartUpWithAMessage() throws {
        let directory = try TemporaryDirectory()
        let configuration = ServiceConfiguration(dataDirectory: directory.path("var"),
                                                 resourcesRoot: directory.path("nowhere"))
        do {
            _ = try Service(configuration: configuration, runner: CountingRunner(), environment: [:],
                            logger: Self.quietLogger())
            Issue.record("a service started without its migrations")
        } catch let error as ServiceError {
            #expect(error.message.contains("Migrations/"))
        }
    }
}
