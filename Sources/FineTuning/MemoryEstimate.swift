/// How much memory a run of a spec on a base model will need, estimated from the base model's manifest alone
/// (its graph is built for the shapes, its weights are not read), so a service can refuse a job that would
/// exhaust the machine before any worker tries.
import Foundation
import NeuralNetwork
import Tensors

/// The memory a run needs, in bytes, by what holds it. Sizes are Float32 and deliberately on the high side: the
/// point is to refuse what cannot fit, not to predict the resident set to the megabyte.
public struct MemoryEstimate: Sendable, Equatable {
    /// The base model's weights (as loaded, and the copy the plan is built from).
    public var baseWeightBytes: Double
    /// The new head's weights, and for everything that trains: gradients, optimizer state, the best-epoch copy and
    /// the checkpoint being written.
    public var trainingStateBytes: Double
    /// One training step's activations and their gradients for a batch, plus the frozen part's inference passes.
    public var activationBytes: Double
    /// The frozen part's output for every image, when the run caches it.
    public var featureCacheBytes: Double
    /// Decoded images held in memory (large sets are streamed instead).
    public var imageBytes: Double
    /// What a process needs besides (oneDNN primitives and scratch, loaders, the model cache is separate).
    public static let overheadBytes = Double(128 << 20)

    public var totalBytes: Double {
        baseWeightBytes + trainingStateBytes + activationBytes + featureCacheBytes + imageBytes + Self.overheadBytes
    }

    /// The spec field whose value weighs most, for an error that says what to change.
    public var dominantField: String {
        let parts: [(String, Double)] = [
            ("head_hidden", headBytes), ("freeze", trainingStateBytes - headBytes), ("batch_size", activationBytes),
            ("feature_cache", featureCacheBytes), ("batch_size", imageBytes),
        ]
        return parts.max { $0.1 < $1.1 }?.0 ?? "batch_size"
    }

    /// The head's share of `trainingStateBytes`.
    public var headBytes: Double

    /// Estimates a run of `spec` on the base model described by `manifest`, for `classes` classes and `images`
    /// images (training and validation together).
    public static func estimate(manifest: ModelManifest, spec: FineTuneSpec, classes: Int, images: Int) throws
        -> MemoryEstimate
    {
        let floatBytes = Double(MemoryLayout<Float>.stride)
        let graph = try Graph(nodes: manifest.nodes, output: manifest.head, context: ComputeContext(threads: 1))
        let inputShape = manifest.inputShape(batch: 1)
        let rows = try graph.summaryRows(inputShape: inputShape)
        guard let headIndex = rows.firstIndex(where: { $0.node == manifest.head }) else {
            throw FineTuneError.incompatibleModel(message: "head node '\(manifest.head)' is not in the graph")
        }
        let below = Array(rows[..<headIndex])
        func elements(_ shape: [Int]) -> Double { shape.dropFirst().reduce(1.0) { $0 * Double($1) } }
        let headInput = rows[headIndex].inputs.first ?? Graph.inputName
        let features = headInput == Graph.inputName ? elements(inputShape)
            : elements(below.first { $0.node == headInput }?.outputShape ?? [1])
        let classCount = Double(max(classes, 2))
        let hidden = Double(spec.headHidden)
        let headParameters = spec.head == .mlp
            ? features * hidden + hidden + hidden * classCount + classCount : features * classCount + classCount
        let headActivations = spec.head == .mlp ? hidden * 4 + classCount : classCount

        // The first node below the head that trains (nil: only the head).
        let firstTrainable: Int?
        switch spec.freeze {
        case .backbone: firstTrainable = nil
        // `auto` may choose `none`, its deepest candidate: a job must fit that too.
        case .none, .auto: firstTrainable = below.firstIndex { $0.parameters > 0 }
        case .until(let node):
            let index = below.firstIndex { $0.node == node }
            firstTrainable = index.flatMap { $0 + 1 < below.count ? $0 + 1 : nil }
        case .trainableLayers(let count):
            let withWeights = below.indices.filter { below[$0].parameters > 0 }
            firstTrainable = count > 1 ? withWeights.suffix(count - 1).first : nil
        }
        let trainableBase = firstTrainable.map { below[$0...].map { Double($0.parameters) }.reduce(0, +) } ?? 0
        // Per trained weight: value, gradient, optimizer state, best-epoch copy, checkpoint copy.
        let optimizerStates: Double = spec.optimizer == .sgd ? 1 : 2
        let perTrained = 4 + optimizerStates
        let baseParameters = below.map { Double($0.parameters) }.reduce(0, +)

        var estimate = MemoryEstimate(baseWeightBytes: 0, trainingStateBytes: 0, activationBytes: 0,
                                      featureCacheBytes: 0, imageBytes: 0, headBytes: 0)
        estimate.baseWeightBytes = 2 * baseParameters * floatBytes
        estimate.headBytes = headParameters * perTrained * floatBytes
        estimate.trainingStateBytes = estimate.headBytes + trainableBase * (perTrained - 1) * floatBytes

        let batch = Double(spec.batchSize)
        let perImageAll = below.map { elements($0.outputShape) }.reduce(0, +)
        let trainedFrom = firstTrainable ?? below.count
        let perImageFrozen = below[..<trainedFrom].map { elements($0.outputShape) }.reduce(0, +)
        let perImageTrained = perImageAll - perImageFrozen
        let cacheable = spec.featureCache && (!spec.augmentation.enabled || spec.augmentedViews > 0)
        // Training keeps each trained node's output and its gradient; inference passes run in sub-batches within
        // a 32 MiB activation budget, so they cost at most about one image's activations beyond it.
        let inference = min(batch * perImageFrozen * floatBytes, Double(32 << 20) + perImageFrozen * floatBytes)
        let frozenInTraining = cacheable ? inference : 2 * batch * perImageFrozen * floatBytes
        estimate.activationBytes = frozenInTraining + 2 * batch * (perImageTrained + headActivations) * floatBytes
        if cacheable {
            let boundary = trainedFrom == 0 ? elements(inputShape)
                : (trainedFrom < below.count ? elements(below[trainedFrom - 1].outputShape) : features)
            let views = spec.augmentation.enabled ? Double(max(spec.augmentedViews, 1)) : 1
            estimate.featureCacheBytes = Double(images) * boundary * views * floatBytes
        }
        // Training and validation images are each held only up to FineTuneRun's materialised limit.
        estimate.imageBytes = min(Double(images) * elements(inputShape) * floatBytes, 2 * Double(512 << 20))
        return estimate
    }

    /// One line for people: the total and its parts in MiB.
    public var summary: String {
        func mib(_ bytes: Double) -> String { String(format: "%.0f MiB", bytes / Double(1 << 20)) }
        return "about \(mib(totalBytes)) (base weights \(mib(baseWeightBytes)), trained weights and optimizer state "
            + "\(mib(trainingStateBytes)), activations \(mib(activationBytes)), feature cache "
            + "\(mib(featureCacheBytes)), images \(mib(imageBytes)))"
    }
}
