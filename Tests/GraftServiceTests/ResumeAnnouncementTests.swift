// A later attempt's first event says what it really starts from: the checkpoint's epoch, the previous checkpoint
// when the newest is damaged, or a restart from scratch when none is left.
import Foundation
import NeuralNetwork
import Tensors
import Testing
@testable import FineTuning
@testable import GraftService

@Suite struct ResumeAnnouncementTests {
    /// A checkpoint file as a run writes it (checksummed), with only the counters that matter here.
    static func writeCheckpoint(epochsDone: Int, to url: URL) throws {
        let tensors = ["model.fc.weight": Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])]
        var metadata = ["epochs_done": "\(epochsDone)", "spec": "{}", "dataset_hash": "h"]
        metadata[Checkpoint.checksumKey] = Checkpoint.checksum(tensors: tensors, metadata: metadata)
        try Safetensors.write(tensors, metadata: metadata, to: url)
    }

    @Test func resumeEventsSayWhatTheAttemptStartsFrom() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let id = try store.submitJob(JobSubmission(specJSON: "{}")).job.id
        _ = try #require(try store.claimNextQueuedJob(workerID: "w"))
        let pool = WorkerPoolTests.makePool(store: store, runner: CountingRunner(), directory: directory)
        let reporter = StoreJobReporter(store: store, jobID: id, workerID: "w", pool: pool)
        let checkpoints = directory.path("checkpoints/\(id)")
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        let ticket = JobTicket(jobID: id, attempt: 2, specJSON: "{}", baseModelID: nil, datasetID: nil,
                               checkpointDirectory: checkpoints, outputDirectory: directory.path("out"),
                               resultModelID: "m")
        func announced() throws -> JobEventRecord {
            try FineTuningJobRunner.announceResume(ticket, reporter: reporter)
            return try #require(try store.events(jobID: id).last)
        }

        // Deleted (or never written): a restart, not "resuming".
        var event = try announced()
        #expect(event.kind == "restarted" && event.message.contains("restarts from scratch at epoch 1"), "\(event.message)")
        #expect(event.message.contains("none was written, or it was deleted"))

        try Self.writeCheckpoint(epochsDone: 3, to: checkpoints.appendingPathComponent(Checkpoint.previousFileName))
        try Self.writeCheckpoint(epochsDone: 4, to: checkpoints.appendingPathComponent(Checkpoint.fileName))
        event = try announced()
        #expect(event.kind == "resumed" && event.message.contains("resuming after epoch 4"), "\(event.message)")

        let newest = checkpoints.appendingPathComponent(Checkpoint.fileName)
        var bytes = try Data(contentsOf: newest)
        bytes[bytes.count - 2] ^= 0xff
        try bytes.write(to: newest)
        event = try announced()
        #expect(event.kind == "resumed" && event.message.contains("resuming after epoch 3"), "\(event.message)")
        #expect(event.message.contains("checksum does not match") && event.dataJSON.contains("\"resumes_after_epoch\":3"))

        try bytes.prefix(20).write(to: checkpoints.appendingPathComponent(Checkpoint.previousFileName))
        event = try announced()
        #expect(event.kind == "restarted" && event.message.contains("damaged"), "\(event.message)")
    }
}
