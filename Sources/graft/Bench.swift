import ArgumentParser
import FineTuning
import Foundation
import NeuralNetwork

/// `graft bench`: engine benchmarks (convolution kernels through Graft's layers, a ResNet-8 training step).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the CNN engine on this machine.", subcommands: [Kernels.self, TrainStep.self, Inference.self])

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convolution forward / backward-data / backward-weights GFLOP/s beside the sgemm 1024³ rate.")

        @Option(help: "OpenMP threads of the compute lane.") var threads = ComputeContext.availableCores
        @Option(help: "Seconds spent timing each pass.") var seconds = 0.6

        func run() throws {
            let context = ComputeContext(threads: threads)
            print("CPU: \(cpuModel()), \(threads) thread(s), oneDNN \(OneDNN.version)")
            let sgemm = try sgemmRate(context: context, seconds: seconds)
            print(String(format: "sgemm 1024³: %.1f GFLOP/s (measured again at the end: a large change means a busy machine)",
                         sgemm))
            print("shape                                      fwd      bwd-data  bwd-weights  (GFLOP/s, % of sgemm)")
            var generator = SeededGenerator(seed: 1)
            for shape in KernelShape.all {
                let conv = Conv2d(inChannels: shape.input, outChannels: shape.output, kernelSize: [shape.kernel, shape.kernel],
                                  stride: [shape.stride, shape.stride], padding: [shape.kernel / 2, shape.kernel / 2],
                                  groups: shape.groups, bias: false, generator: &generator)
                let input = [shape.batch, shape.input, shape.size, shape.size]
                let flops = try LayerBenchmark.flops(conv, inputShape: input)
                let t = try LayerBenchmark.convolution(conv, inputShape: input, context: context, minimumSeconds: seconds)
                let rates = [t.forward, t.backwardData, t.backwardWeights].map { flops / $0 / 1e9 }
                let cells = rates.map { String(format: "%6.1f %3.0f%%", $0, 100 * $0 / sgemm) }
                print(shape.name.padding(toLength: 42, withPad: " ", startingAt: 0) + cells.joined(separator: "  "))
            }
            print(String(format: "sgemm 1024³ again: %.1f GFLOP/s", try sgemmRate(context: context, seconds: seconds)))
        }
    }

    struct TrainStep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One whole-network training step (forward, loss, backward, SGD update): ResNet-8 on 28×28×1, "
                + "or a model folder's network on its input size.")

        @Option(help: "OpenMP threads of the compute lane.") var threads = ComputeContext.availableCores
        @Option(help: "Timed steps (after two warm-up steps).") var steps = 20
        @Option(help: "Batch size.") var batch = 128
        @Option(help: "A model folder or base model name to train instead of the built-in ResNet-8 (every layer trains).")
        var model: String?
        @Flag(help: "Print one JSON object (median_ms, best_ms, steps, threads, batch, cpu) instead of text.")
        var json = false

        func run() throws {
            let context = ComputeContext(threads: threads)
            let graph: Graph, shape: [Int], classes: Int, name: String
            if let model {
                let folder = try ModelFolder.load(from: try modelFolder(model), context: context)
                graph = folder.graph
                shape = folder.manifest.inputShape(batch: batch)
                classes = max(1, folder.manifest.labels.count)
                name = model
            } else {
                shape = [batch, 1, 28, 28]
                graph = try Graph(nodes: Architectures.resnet8(), seed: 0, inputShape: shape, context: context)
                classes = 10
                name = "ResNet-8"
            }
            var generator = SeededGenerator(seed: 2)
            let x = Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in generator.nextGaussian() })
            let labels = (0..<batch).map { _ in Int(generator.next() % UInt64(classes)) }
            let trainingStep = TrainingStep(graph: graph, optimizer: SGD(learningRate: 0.01, momentum: 0.9))
            func step() throws -> Float { try trainingStep(x, labels: labels).loss }
            _ = try step(); _ = try step()
            var times: [Double] = []
            var last: Float = 0
            for _ in 0..<steps {
                let start = DispatchTime.now().uptimeNanoseconds
                last = try step()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            times.sort()
            if json {
                let object: [String: Any] = [
                    "median_ms": times[times.count / 2], "best_ms": times[0], "steps": steps, "threads": threads,
                    "batch": batch, "cpu": cpuModel(), "loss": Double(last), "model": name,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("CPU: \(cpuModel()), \(threads) thread(s), oneDNN \(OneDNN.version)")
            print(String(format: "%@ train step, batch %d, %@: median %.2f ms/step, best %.2f ms (%d steps, loss %.3f)",
                         name, batch, shape.dropFirst().map(String.init).joined(separator: "×"), times[times.count / 2],
                         times[0], steps, last))
        }
    }
}

extension Bench {
    /// Inference latency and throughput of a model folder on random inputs of its input shape.
    struct Inference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time a model's inference forward pass (compiled plan, random input) at several batch sizes.")

        @Argument(help: "A model folder, or the name of a base model under Models/.") var model: String
        @Option(help: "OpenMP threads of the compute lane.") var threads = ComputeContext.availableCores
        @Option(parsing: .upToNextOption, help: "Batch sizes to time.") var batch: [Int] = [1, 32]
        @Option(help: "Seconds spent timing each batch size (after warm-up).") var seconds = 3.0
        @Flag(help: "Print one JSON object per batch size instead of text.") var json = false
        @Flag(help: "Give every intermediate result its own buffer (to measure the shared activation arena).")
        var separateBuffers = false
        @Option(help: "MiB of intermediate results an inference sub-batch may use (larger batches run in parts).")
        var subBatchMib: Int?

        func validate() throws {
            guard batch.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--batch sizes must be at least 1") }
            guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        }

        func run() throws {
            let context = ComputeContext(threads: threads)
            let folder = try ModelFolder.load(from: try modelFolder(model), context: context)
            let input = folder.manifest.input
            folder.graph.sharesInferenceStorage = !separateBuffers
            if let subBatchMib { folder.graph.inferenceArenaBudget = subBatchMib << 20 }
            if !json { print("CPU: \(cpuModel()), \(threads) thread(s), oneDNN \(OneDNN.version)") }
            var generator = SeededGenerator(seed: 4)
            for n in batch {
                let shape = [n, input.channels, input.height, input.width]
                let x = Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in generator.nextGaussian() })
                // warm-up: compile the plan and touch every buffer
                for _ in 0..<3 { _ = try folder.graph.forward(x, mode: .inference) }
                var times: [Double] = []
                let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
                while times.count < 5 || DispatchTime.now().uptimeNanoseconds < deadline {
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try folder.graph.forward(x, mode: .inference)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
                times.sort()
                let median = times[times.count / 2]
                let before = context.reordersRun
                _ = try folder.graph.forward(x, mode: .inference)
                let reorders = context.reordersRun - before
                if json {
                    let object: [String: Any] = [
                        "batch": n, "median_ms": median, "p10_ms": times[times.count / 10],
                        "p90_ms": times[times.count * 9 / 10], "runs": times.count, "threads": threads,
                        "images_per_s": Double(n) / median * 1000, "cpu": cpuModel(), "reorders_per_forward": reorders,
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(String(format: "batch %3d: median %8.2f ms (p10 %.2f, p90 %.2f, %d runs), %.1f images/s, %d reorder(s) per forward",
                                 n, median, times[times.count / 10], times[times.count * 9 / 10], times.count,
                                 Double(n) / median * 1000, reorders))
                }
            }
        }
    }
}

/// The convolution shapes of issue 10's table.
struct KernelShape {
    var name: String, batch: Int, input: Int, output: Int, size: Int, kernel: Int, stride: Int, groups: Int

    static let all = [
        KernelShape(name: "3×3 64→64 56×56 batch 32", batch: 32, input: 64, output: 64, size: 56, kernel: 3, stride: 1, groups: 1),
        KernelShape(name: "3×3 16→16 28×28 batch 128", batch: 128, input: 16, output: 16, size: 28, kernel: 3, stride: 1, groups: 1),
        KernelShape(name: "depthwise 3×3 32 ch 112×112 batch 1", batch: 1, input: 32, output: 32, size: 112, kernel: 3,
                    stride: 1, groups: 32),
        KernelShape(name: "1×1 96→24 56×56 batch 1", batch: 1, input: 96, output: 24, size: 56, kernel: 1, stride: 1, groups: 1),
        KernelShape(name: "3×3 s2 32→64 14×14 batch 128", batch: 128, input: 32, output: 64, size: 14, kernel: 3, stride: 2,
                    groups: 1),
    ]
}

func sgemmRate(context: ComputeContext, seconds: Double) throws -> Double {
    let n = 1024
    var generator = SeededGenerator(seed: 3)
    let a = (0..<(n * n)).map { _ in generator.nextUniform() }, b = (0..<(n * n)).map { _ in generator.nextUniform() }
    var c = [Float](repeating: 0, count: n * n)
    let t = try LayerBenchmark.time(seconds) { try Sgemm.multiply(a, b, into: &c, m: n, n: n, k: n, context: context) }
    return 2 * Double(n * n * n) / t / 1e9
}

func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let value = line.split(separator: ":", maxSplits: 1).last else { return "unknown CPU" }
    return value.trimmingCharacters(in: .whitespaces)
}
