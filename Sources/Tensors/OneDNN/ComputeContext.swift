import CDNNL
import Foundation

/// The one CPU engine of the process (oneDNN engines are cheap handles; one is enough).
let cpuEngine: dnnl_engine_t = {
    var engine: dnnl_engine_t?
    let status = dnnl_engine_create(&engine, dnnl_cpu, 0)
    precondition(status == dnnl_success && engine != nil, "oneDNN could not create its CPU engine")
    return engine!
}()

/// A compute lane: one oneDNN stream plus a fixed OpenMP thread count.
///
/// Threading policy. Debian's oneDNN runs on OpenMP (libgomp), whose thread count is a per-calling-thread
/// setting. Graft divides the machine's cores into lanes: every lane is a `ComputeContext` with its own thread
/// count, and each primitive it creates or runs first sets `omp_set_num_threads(threads)` on the calling
/// thread. A training job owns one lane; prediction requests share another; with lane thread counts summing
/// to the core count, training and predictions never oversubscribe the CPU (see `ComputeContext.lanes`).
/// oneDNN fixes its work partition from the thread count when a primitive is created, so the same seed and
/// the same thread count reproduce bit-identical results; a context is used by one thread at a time.
public final class ComputeContext {
    let stream: dnnl_stream_t
    /// OpenMP threads used by each primitive run on this lane.
    public let threads: Int
    /// Layout changes (reorder primitives) run on this lane so far: a diagnostic of how well a plan keeps data
    /// in the layouts oneDNN chose (an inference forward should need one, at the input).
    public internal(set) var reordersRun = 0

    public init(threads: Int = ComputeContext.availableCores) {
        precondition(threads >= 1, "a compute lane needs at least one thread, got \(threads)")
        self.threads = threads
        var stream: dnnl_stream_t?
        let status = dnnl_stream_create(&stream, cpuEngine, dnnl_stream_default_flags.rawValue)
        precondition(status == dnnl_success && stream != nil, "oneDNN could not create a CPU stream")
        self.stream = stream!
    }

    deinit { dnnl_stream_destroy(stream) }

    /// Cores the process may use: `OMP_NUM_THREADS` when set, otherwise the online processors. (Not
    /// `omp_get_max_threads()`, which a lane's `activate()` changes for its calling thread.)
    public static let availableCores: Int = {
        if let text = ProcessInfo.processInfo.environment["OMP_NUM_THREADS"],
           let first = text.split(separator: ",").first, let n = Int(first), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Splits `cores` among `count` lanes as evenly as possible (earlier lanes get the remainder), each lane
    /// at least one thread: `lanes(2, cores: 2)` gives two single-thread lanes (training + predictions).
    public static func lanes(_ count: Int, cores: Int = availableCores) -> [ComputeContext] {
        precondition(count >= 1)
        return (0..<count).map { i in
            ComputeContext(threads: max(1, cores / count + (i < cores % count ? 1 : 0)))
        }
    }

    /// Applies this lane's thread count to the calling thread; called before creating or running primitives.
    @inline(__always)
    public func activate() { omp_set_num_threads(Int32(threads)) }

    /// Waits until every primitive submitted on this lane has finished (CPU streams are synchronous, but
    /// this keeps the contract explicit).
    public func wait() throws {
        try check(dnnl_stream_wait(stream), "stream wait", "\(threads) threads")
    }
}
