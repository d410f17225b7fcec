// Options several commands share, declared once.
import ArgumentParser
import Tensors

/// `--threads`: the OpenMP threads of the command's compute lane (default: every core Graft may use).
struct ThreadsOption: ParsableArguments {
    @Option(help: "OpenMP threads of the compute lane.") var threads = ComputeContext.availableCores

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    var context: ComputeContext { ComputeContext(threads: threads) }
}
