// Names workers uniquely across processes and tells whether the process behind a name is still alive.
import Foundation

/// A worker's name in `jobs.claimed_by`: `host:pid:token/index`.
///
/// The pid lets a new process on the same host see at once that a job's worker died with its process
/// (`kill -9`), instead of waiting for the heartbeat to go stale.
public struct WorkerIdentity: Sendable, Equatable {
    public var host: String
    public var processID: Int32
    /// Random per pool, so several pools in one process have distinct names.
    public var token: String

    /// The identity of a new pool in this process.
    public static func current() -> WorkerIdentity {
        WorkerIdentity(host: ProcessInfo.processInfo.hostName, processID: ProcessInfo.processInfo.processIdentifier,
                       token: String(UUID().uuidString.prefix(8)).lowercased())
    }

    /// The name of worker `index` of this pool.
    public func workerID(_ index: Int) -> String {
        "\(host):\(processID):\(token)/\(index)"
    }

    /// Whether the process that owns `workerID` may still be running.
    ///
    /// Only a worker of this host whose process no longer exists (per `/proc`) counts as dead; for other hosts,
    /// or where `/proc` is missing, the answer is "maybe alive" and the heartbeat decides.
    public static func isProcessAlive(workerID: String, localHost: String = ProcessInfo.processInfo.hostName) -> Bool {
        let parts = workerID.split(separator: ":")
        guard parts.count >= 3, String(parts[0]) == localHost, let pid = Int32(parts[1]) else { return true }
        guard FileManager.default.fileExists(atPath: "/proc/self") else { return true }
        return FileManager.default.fileExists(atPath: "/proc/\(pid)")
    }
}
