/// Closes refused sockets without a reset: one background thread keeps reading and discarding what their clients
/// still send, so the 503 already written is not destroyed by the reset a close with unread input would send.
import Foundation

/// Sockets whose answer is written and whose write side is shut: each is drained until its client closes or its
/// deadline passes, then closed. The accept thread hands sockets over without ever blocking on them.
final class LingeringCloser: @unchecked Sendable {
    private let timeout: Double
    private let capacity: Int
    private let lock = NSLock()
    private var sockets: [(fd: Int32, deadline: Double)] = []
    private var running = false
    private var stopped = false

    /// - Parameters:
    ///   - timeout: the longest one socket is drained.
    ///   - capacity: the most sockets drained at once; beyond it a socket is closed at once (a flood of refused
    ///     connections must not pile up file descriptors).
    init(timeout: Double, capacity: Int = 256) {
        self.timeout = timeout
        self.capacity = capacity
    }

    /// Takes ownership of `fd` (its response already sent, its write side shut).
    func close(_ fd: Int32) {
        lock.lock()
        guard !stopped, sockets.count < capacity, timeout > 0 else {
            lock.unlock()
            POSIX.discardQueuedInput(fd)
            POSIX.close(fd)
            return
        }
        sockets.append((fd, POSIX.monotonicSeconds() + timeout))
        let start = !running
        running = true
        lock.unlock()
        if start {
            let thread = Thread { [self] in drain() }
            thread.name = "http-linger"
            thread.start()
        }
    }

    /// Ends the draining of every socket (the drain thread closes them within its next round) and closes sockets
    /// handed over later at once. Only the drain thread closes what it drains: a descriptor closed under it could
    /// be reused by a new connection before its next read.
    func stop() {
        lock.lock()
        stopped = true
        for index in sockets.indices { sockets[index].deadline = 0 }
        lock.unlock()
    }

    /// The number of sockets draining now.
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return sockets.count
    }

    private func drain() {
        var scratch = [UInt8](repeating: 0, count: 65536)
        while true {
            lock.lock()
            let now = POSIX.monotonicSeconds()
            var finished: [Int32] = []
            sockets.removeAll { socket in
                if socket.deadline <= now { finished.append(socket.fd); return true }
                return false
            }
            if sockets.isEmpty {
                running = false
                lock.unlock()
                for fd in finished { POSIX.close(fd) }
                return
            }
            let fds = sockets.map(\.fd)
            lock.unlock()
            for fd in finished { POSIX.close(fd) }

            // A short wait: sockets handed over meanwhile are picked up on the next round (their input queues
            // in the kernel until then).
            var ended = Set<Int32>()
            for event in POSIX.pollInput(fds, milliseconds: 20) {
                if event.failed { ended.insert(event.fd); continue }
                // At most 1 MiB a round, so a fast sender cannot starve the others or outlive its deadline.
                reads: for _ in 0..<16 {
                    switch scratch.withUnsafeMutableBytes({ POSIX.receiveWithoutBlocking(event.fd, into: $0) }) {
                    case .data: continue
                    case .nothingYet: break reads
                    case .ended:
                        ended.insert(event.fd)
                        break reads
                    }
                }
            }
            guard !ended.isEmpty else { continue }
            lock.lock()
            sockets.removeAll { ended.contains($0.fd) }
            lock.unlock()
            for fd in ended { POSIX.close(fd) }
        }
    }
}
