/// A model: a DAG of named nodes, each a layer, compiled per (input shape, mode) into cached plans.
public final class Graph {
    /// The name by which nodes refer to the graph input.
    public static let inputName = "input"

    public let nodes: [NodeSpec]
    public let layers: [Layer]
    /// Index of the node whose output is the graph output (the last node unless given).
    public let outputIndex: Int
    /// Node index of each input (−1 = graph input).
    let inputIndices: [[Int]]
    /// The lane plans run on (see `use(_:)`).
    public private(set) var context: ComputeContext
    /// When true, backward also computes the gradient w.r.t. the graph input (gradient checks, saliency).
    public var inputRequiresGradient = false {
        didSet { clearPlans() }
    }
    /// Inference plans place their intermediate results in one arena, reusing the bytes of results no longer
    /// needed (less memory, better cache reuse). Off only to check that placement against separate buffers.
    public var sharesInferenceStorage = true {
        didSet { clearPlans(); subBatchSizes.removeAll() }
    }
    private var plans: [PlanKey: Plan] = [:]
    private var lastPlan: Plan?

    /// Builds layers from specs (parameters initialised from `seed` as PyTorch does by default). Nodes must be
    /// listed after their inputs. With `inputShape` (N×C×H×W), every shape is checked now.
    public convenience init(nodes: [NodeSpec], output: String? = nil, seed: UInt64 = 0, inputShape: [Int]? = nil,
                            context: ComputeContext = ComputeContext()) throws {
        var generator = SeededGenerator(seed: seed)
        let layers = try nodes.map { try LayerFactory.make($0, generator: &generator) }
        try self.init(nodes: nodes, layers: layers, output: output, inputShape: inputShape, context: context)
    }

    /// A graph over existing layers (`nodes[i]` names `layers[i]` and its inputs; the op comes from the layer, and
    /// the attributes too when the node gives none).
    public init(nodes: [NodeSpec], layers: [Layer], output: String? = nil, inputShape: [Int]? = nil,
                context: ComputeContext = ComputeContext()) throws {
        precondition(nodes.count == layers.count)
        guard !nodes.isEmpty else { throw ModelError("a model needs at least one node") }
        var index: [String: Int] = [:]
        var inputIndices: [[Int]] = []
        for (i, node) in nodes.enumerated() {
            guard node.name != Graph.inputName, !node.name.isEmpty, !node.name.contains(".") else {
                throw ModelError("node name '\(node.name)' is reserved or invalid (no dots, not '\(Graph.inputName)')")
            }
            guard index[node.name] == nil else { throw ModelError("two nodes are named '\(node.name)'") }
            guard !node.inputs.isEmpty else { throw ModelError("node '\(node.name)' has no inputs") }
            inputIndices.append(try node.inputs.map { name in
                if name == Graph.inputName { return -1 }
                guard let j = index[name] else {
                    throw ModelError("node '\(node.name)' reads '\(name)', which is not an earlier node or '\(Graph.inputName)'")
                }
                return j
            })
            index[node.name] = i
        }
        if let output {
            guard let i = index[output] else { throw ModelError("output node '\(output)' does not exist") }
            outputIndex = i
        } else {
            outputIndex = nodes.count - 1
        }
        // Keep attributes as written in model.json; nodes given without attributes take the layer's full set.
        self.nodes = zip(nodes, layers).map {
            NodeSpec(name: $0.name, op: $1.op, attributes: $0.attributes.isEmpty ? $1.attributes : $0.attributes,
                     inputs: $0.inputs)
        }
        self.layers = layers
        self.inputIndices = inputIndices
        self.context = context
        if let inputShape { _ = try shapes(for: inputShape) }
    }

    /// Every parameter and buffer as `node.param` (PyTorch state-dict order).
    public func namedParameters() -> [(key: String, parameter: Parameter)] {
        zip(nodes, layers).flatMap { node, layer in layer.parameters.map { (key: "\(node.name).\($0.name)", parameter: $0) } }
    }

    /// Output shape of every node for an input shape; throws a `ModelError` naming the first impossible node.
    public func shapes(for inputShape: [Int]) throws -> [[Int]] {
        var shapes: [[Int]] = []
        for (i, layer) in layers.enumerated() {
            let inputs = inputIndices[i].map { $0 < 0 ? inputShape : shapes[$0] }
            shapes.append(try layer.outputShape(for: inputs, node: nodes[i].name))
        }
        return shapes
    }

    /// True for nodes of the frozen prefix: no trainable parameter and every input from the graph input or
    /// another frozen node. They run in inference mode and keep no backward state.
    public func frozenPrefix() -> [Bool] {
        var frozen: [Bool] = []
        for (i, layer) in layers.enumerated() {
            let ownFrozen = !layer.parameters.contains { $0.isTrainable }
            frozen.append(ownFrozen && inputIndices[i].allSatisfy { $0 < 0 ? !inputRequiresGradient : frozen[$0] })
        }
        return frozen
    }

    /// `isTrainable` of every parameter in order (plans are rebuilt when this changes).
    func trainableFlags() -> [Bool] { layers.flatMap { $0.parameters.map(\.isTrainable) } }

    // MARK: - Running

    /// Runs the graph on a plain N×C×H×W batch and returns the output node's result (plain).
    ///
    /// In inference a large batch runs as consecutive sub-batches whose activations fit `inferenceArenaBudget`
    /// (samples are independent there): the same results, with the working set kept in cache.
    public func forward(_ input: Tensor, mode: Mode) throws -> Tensor {
        if mode == .inference, input.shape.count > 1, let size = try subBatchSize(for: input.shape), size < input.shape[0] {
            return try forwardInSubBatches(input, size: size)
        }
        let plan = try plan(for: input.shape, mode: mode)
        lastPlan = plan
        return try plan.forward(input).tensor(context: context)
    }

    /// Bytes of intermediate results an inference sub-batch may occupy: about a CPU's last-level cache.
    /// EfficientNet-Lite0 at 224² needs about 6 MB per image, so a batch of 32 runs 5 images at a time
    /// (`bench/INFERENCE.md` measures the budget against running the batch at once).
    public var inferenceArenaBudget = 32 << 20 {
        didSet { subBatchSizes.removeAll() }
    }
    private var subBatchSizes: [[Int]: Int] = [:]

    /// The largest sub-batch whose arena fits the budget (from the batch-1 plan's arena), nil when the whole batch
    /// fits or shared storage is off.
    private func subBatchSize(for shape: [Int]) throws -> Int? {
        guard sharesInferenceStorage, shape[0] > 1 else { return nil }
        let sample = [1] + shape.dropFirst()
        if let known = subBatchSizes[sample] { return known }
        let perImage = try plan(for: sample, mode: .inference).arena?.bytes ?? 0
        let size = perImage == 0 ? Int.max : max(1, inferenceArenaBudget / perImage)
        subBatchSizes[sample] = size
        return size
    }

    private func forwardInSubBatches(_ input: Tensor, size: Int) throws -> Tensor {
        let count = input.shape[0]
        let sample = input.count / count
        // even chunks (at most two plan sizes): 32 at ≤ 5 → 5,5,5,5,4,4,4 rather than six 5s and a 2
        let chunks = (count + size - 1) / size
        var scalars: [Float] = []
        var outputShape: [Int] = []
        var start = 0
        for chunk in 0..<chunks {
            let n = count / chunks + (chunk < count % chunks ? 1 : 0)
            let part = Tensor(shape: [n] + input.shape.dropFirst(),
                              scalars: Array(input.scalars[(start * sample)..<((start + n) * sample)]))
            let plan = try plan(for: part.shape, mode: .inference)
            lastPlan = plan
            let output = try plan.forward(part).tensor(context: context)
            if scalars.isEmpty { scalars.reserveCapacity(output.count / n * count) }
            scalars += output.scalars
            outputShape = output.shape
            start += n
        }
        return Tensor(shape: [count] + outputShape.dropFirst(), scalars: scalars)
    }

    /// Back-propagates `outputGradient` (the loss gradient w.r.t. the last forward's output) through the last
    /// training forward, adding into every trainable parameter's gradient. Returns the gradient w.r.t. the
    /// graph input when `inputRequiresGradient` is set.
    @discardableResult
    public func backward(_ outputGradient: Tensor) throws -> Tensor? {
        guard let plan = lastPlan, plan.key.mode == .training else {
            preconditionFailure("backward needs a preceding forward in training mode")
        }
        return try plan.backward(outputGradient)?.tensor(context: plan.context)
    }

    /// Compiles the plan for an input shape and runs it once on zeros, so that the first real call finds its
    /// primitives created and its weights folded and reordered (a service does this when it loads a model).
    public func prepare(inputShape: [Int], mode: Mode = .inference) throws {
        _ = try plan(for: inputShape, mode: mode).forward(Tensor(shape: inputShape, repeating: 0))
    }

    /// The compiled plan for an input shape and mode (created once, then reused).
    func plan(for inputShape: [Int], mode: Mode) throws -> Plan {
        let key = PlanKey(inputShape: inputShape, mode: mode)
        if let plan = plans[key], plan.isCurrent(trainable: trainableFlags()) { return plan }
        let plan = try Plan(graph: self, key: key)
        plans[key] = plan
        return plan
    }

    /// Runs later passes on `context`, dropping the plans compiled for the previous lane (a training plan can hold
    /// gigabytes, so two lanes' worth are not kept). A fine-tuning job uses it to give a core up to predictions and
    /// take it back. Results on lanes of different thread counts differ in the last bits: reductions split across
    /// threads add in another order.
    public func use(_ context: ComputeContext) {
        guard context !== self.context else { return }
        self.context = context
        clearPlans()
    }

    /// Drops every compiled plan (not needed after freezing or unfreezing: plans notice and are rebuilt).
    public func clearPlans() {
        plans.removeAll()
        lastPlan = nil
    }
}

struct PlanKey: Hashable {
    var inputShape: [Int]
    var mode: Mode
}

extension Graph {
    /// What the compiled plan does per node for an input shape and mode: the output layout oneDNN chose, or
    /// which convolution the node was fused into (for diagnostics, tests and `graft models describe`).
    public func planLayout(for inputShape: [Int], mode: Mode) throws -> [(node: String, layout: String)] {
        let plan = try plan(for: inputShape, mode: mode)
        var fusions = Plan.inferenceFusions(graph: self, shapes: try shapes(for: inputShape), frozen: plan.frozen, mode: mode)
        for (norm, relu) in Plan.trainingNormReLU(graph: self, frozen: plan.frozen, mode: mode) {
            fusions.absorbed[relu] = norm
        }
        return nodes.enumerated().map { i, node in
            if let head = fusions.absorbed[i] { return (node.name, "fused into \(nodes[head].name)") }
            if let other = fusions.accumulates[i] {
                return (node.name, "\(plan.steps[i].output) (accumulates into \(nodes[other].name))")
            }
            return (node.name, plan.steps[i].output.description)
        }
    }
}
