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

        @OptionGroup var lane: ThreadsOption
        @Option(help: "Seconds spent timing each pass.") var seconds = 0.6

        func run() throws {
            let context = lane.context
            print("CPU: \(cpuModel()), \(lane.threads) thread(s), oneDNN \(OneDNN.version)")
            let sgemm = try InferenceBenchmark.sgemmRate(context: context, seconds: seconds)
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
            print(String(format: "sgemm 1024³ again: %.1f GFLOP/s", try InferenceBenchmark.sgemmRate(context: context, seconds: seconds)))
        }
    }

    struct TrainStep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One whole-network training step (forward, loss, backward, SGD update): ResNet-8 on 28×28×1, "
                + "or a model folder's network on its input size.")

        @OptionGroup var lane: ThreadsOption
        @Option(help: "Timed steps (after two warm-up steps).") var steps = 20
        @Option(help: "Batch size.") var batch = 128
        @Option(help: "A model folder or base model name to train instead of the built-in ResNet-8 (every layer trains).")
        var model: String?
        @Flag(help: "Print one JSON object (median_ms, best_ms, steps, threads, batch, cpu) instead of text.")
        var json = false

        func run() throws {
            let context = lane.context
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
            let timing = try TrainingStepBenchmark.run(graph, inputShape: shape, classes: classes, steps: steps)
            if json {
                let object: [String: Any] = [
                    "median_ms": timing.medianMilliseconds, "best_ms": timing.bestMilliseconds, "steps": steps,
                    "threads": lane.threads, "batch": batch, "cpu": cpuModel(), "loss": Double(timing.lastLoss),
                    "model": name,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("CPU: \(cpuModel()), \(lane.threads) thread(s), oneDNN \(OneDNN.version)")
            print(String(format: "%@ train step, batch %d, %@: median %.2f ms/step, best %.2f ms (%d steps, loss %.3f)",
                         name, batch, shape.dropFirst().map(String.init).joined(separator: "×"),
                         timing.medianMilliseconds, timing.bestMilliseconds, steps, timing.lastLoss))
        }
    }
}

extension Bench {
    /// Inference latency and throughput of a model folder on random inputs of its input shape.
    struct Inference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time a model's inference forward pass (compiled plan, random input) at several batch sizes.")

        @Argument(help: "A model folder, or the name of a base model under Models/.") var model: String
        @OptionGroup var lane: ThreadsOption
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
            let context = lane.context
            let folder = try ModelFolder.load(from: try modelFolder(model), context: context)
            let input = folder.manifest.input
            folder.graph.sharesInferenceStorage = !separateBuffers
            if let subBatchMib { folder.graph.inferenceArenaBudget = subBatchMib << 20 }
            if !json { print("CPU: \(cpuModel()), \(lane.threads) thread(s), oneDNN \(OneDNN.version)") }
            var generator = SeededGenerator(seed: 4)
            for n in batch {
                let r = try InferenceBenchmark.run(folder.graph, inputShape: [n, input.channels, input.height, input.width],
                                                   seconds: seconds, generator: &generator)
                if json {
                    let object: [String: Any] = [
                        "batch": n, "median_ms": r.medianMilliseconds, "p10_ms": r.p10Milliseconds,
                        "p90_ms": r.p90Milliseconds, "runs": r.runs, "threads": lane.threads,
                        "images_per_s": r.imagesPerSecond, "cpu": cpuModel(), "reorders_per_forward": r.reordersPerForward,
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(String(format: "batch %3d: median %8.2f ms (p10 %.2f, p90 %.2f, %d runs), %.1f images/s, %d reorder(s) per forward",
                                 n, r.medianMilliseconds, r.p10Milliseconds, r.p90Milliseconds, r.runs,
                                 r.imagesPerSecond, r.reordersPerForward))
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

func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let value = line.split(separator: ":", maxSplits: 1).last else { return "unknown CPU" }
    return value.trimmingCharacters(in: .whitespaces)
}
