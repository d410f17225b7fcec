// The memory all predictions may spend on decoding images at once: what keeps many large uploads from
// exhausting the machine together.
import Foundation

/// Bytes of decoded pixels in flight across requests. A request reserves what its next image's decode will
/// allocate (known from the header) before decoding it and releases it once the image is brought to the
/// model's size; a reservation beyond the limit is refused at once, and the request answers 503 with
/// `Retry-After` rather than waiting with its memory held.
public final class DecodeBudget: @unchecked Sendable {
    public let limitBytes: Int
    private let lock = NSLock()
    private var reserved = 0
    private var peak = 0

    public init(limitBytes: Int) {
        precondition(limitBytes > 0, "a decode budget needs at least one byte")
        self.limitBytes = limitBytes
    }

    /// Takes `bytes` from the budget; false (nothing taken) when they do not fit beside what is in flight.
    public func reserve(_ bytes: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard bytes <= limitBytes - reserved else { return false }
        reserved += bytes
        peak = max(peak, reserved)
        return true
    }

    public func release(_ bytes: Int) {
        lock.lock()
        reserved -= bytes
        precondition(reserved >= 0, "released more decode budget than was reserved")
        lock.unlock()
    }

    /// Bytes reserved now, and the most reserved at once so far.
    public var bytesInFlight: Int { lock.lock(); defer { lock.unlock() }; return reserved }
    public var peakBytes: Int { lock.lock(); defer { lock.unlock() }; return peak }
}
