// Turns SIGTERM and SIGINT into a call on a Dispatch queue, so the service can stop gracefully.
import Dispatch
import Foundation

/// Watches SIGTERM and SIGINT with Dispatch signal sources and calls a handler once, off the signal context.
///
/// The default action is ignored while watching (so the process is not killed before the handler runs) and
/// restored by `cancel()`.
public final class TerminationSignals: @unchecked Sendable {
    public static let watched: [Int32] = [SIGTERM, SIGINT]
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "graft.signals")
    private let lock = NSLock()
    private var fired = false

    /// Starts watching; `handler` runs at most once, on a private queue, for the first signal.
    public init(handler: @escaping @Sendable (Int32) -> Void) {
        for number in Self.watched {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self, self.markFired() else { return }
                handler(number)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Stops watching and restores the default actions.
    public func cancel() {
        for source in sources { source.cancel() }
        sources.removeAll()
        for number in Self.watched { signal(number, SIG_DFL) }
    }

    private func markFired() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if fired { return false }
        fired = true
        return true
    }
}
