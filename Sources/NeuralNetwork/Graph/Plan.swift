/// A graph compiled for one input shape and mode: the compiled layers (primitives, buffers, reorders) in
/// topological order, run forward every step and in reverse for backward.
final class Plan {
    let key: PlanKey
    let context: ComputeContext
    let frozen: [Bool]
    let steps: [CompiledLayer]
    let inputIndices: [[Int]]
    /// Steps that run backward (trainable or with a trainable node upstream).
    let runsBackward: [Bool]
    let outputIndex: Int
    let inputMemory: Memory
    private var outputs: [Memory?]
    private let outputGradient: Memory
    private var gradientAdapters: [Int: LayoutAdapter] = [:]
    private var sums: [Int: (primitive: Primitive, memory: Memory)] = [:]

    init(graph: Graph, key: PlanKey) throws {
        self.key = key
        context = graph.context
        context.activate()
        let frozen = graph.frozenPrefix()
        self.frozen = frozen
        inputIndices = graph.inputIndices
        outputIndex = graph.outputIndex
        let shapes = try graph.shapes(for: key.inputShape)
        let inputMemory = try Memory(.plain(key.inputShape))
        self.inputMemory = inputMemory
        var outputLayouts: [MemoryDescriptor] = []
        var steps: [CompiledLayer] = []
        var runsBackward: [Bool] = []
        for (i, layer) in graph.layers.enumerated() {
            let inputs = graph.inputIndices[i].map { $0 < 0 ? inputMemory.descriptor : outputLayouts[$0] }
            let training = key.mode == .training && !frozen[i]
            // A BatchNorm whose own parameters are frozen always uses its running statistics.
            let frozenNorm = layer is BatchNorm2d && !layer.parameters.contains { $0.isTrainable }
            let options = CompileOptions(
                mode: training && !frozenNorm ? .training : .inference,
                needsInputGradient: training
                    && graph.inputIndices[i].contains { $0 < 0 ? graph.inputRequiresGradient : !frozen[$0] },
                needsBackward: training, context: context)
            let step = try layer.compile(inputs: inputs, options: options)
            precondition(step.output.dims == shapes[i], "node \(graph.nodes[i].name): \(step.output.dims) vs \(shapes[i])")
            outputLayouts.append(step.output)
            steps.append(step)
            runsBackward.append(training)
        }
        self.steps = steps
        self.runsBackward = runsBackward
        outputs = Array(repeating: nil, count: steps.count)
        outputGradient = try Memory(.plain(shapes[graph.outputIndex]))
    }

    /// Still valid while the set of frozen nodes is unchanged.
    func isCurrent(frozen current: [Bool]) -> Bool { current == frozen }

    func forward(_ input: Tensor) throws -> Memory {
        inputMemory.setPlainScalars(input.scalars)
        for (i, step) in steps.enumerated() {
            let inputs = inputIndices[i].map { $0 < 0 ? inputMemory : outputs[$0]! }
            outputs[i] = try step.forward(inputs)
            // Nodes after the output are not needed for this result, but running them keeps plans simple.
        }
        return outputs[outputIndex]!
    }

    /// Returns the gradient w.r.t. the graph input when some step computed it.
    func backward(_ gradient: Tensor) throws -> Memory? {
        precondition(gradient.shape == outputGradient.dims,
                     "output gradient \(gradient.shape) does not match the output \(outputGradient.dims)")
        outputGradient.setPlainScalars(gradient.scalars)
        // gradients[steps.count] is the graph input's
        var gradients = [Memory?](repeating: nil, count: steps.count + 1)
        gradients[outputIndex] = outputGradient
        for i in stride(from: steps.count - 1, through: 0, by: -1) {
            guard runsBackward[i], let dy = gradients[i] else { continue }
            let dxs = try steps[i].backward(dy)
            for (k, j) in inputIndices[i].enumerated() where k < dxs.count && (j < 0 || runsBackward[j]) {
                let target = j < 0 ? steps.count : j
                gradients[target] = try accumulate(gradients[target], dxs[k], node: target)
            }
        }
        return gradients[steps.count]
    }

    /// Gradient of a node that feeds several consumers: the sum of what each consumer sends back.
    private func accumulate(_ existing: Memory?, _ incoming: Memory, node: Int) throws -> Memory {
        guard let existing else { return incoming }
        // incoming may use another layout than existing: bring it over first
        if gradientAdapters[node]?.target != existing.descriptor {
            gradientAdapters[node] = LayoutAdapter(target: existing.descriptor, context: context)
        }
        let b = try gradientAdapters[node]!(incoming)
        if let cached = sums[node], cached.memory.descriptor == existing.descriptor, cached.memory !== existing {
            try cached.primitive.execute(
                [(PrimitiveArgument.multipleSrc(0), existing), (PrimitiveArgument.multipleSrc(1), b), (PrimitiveArgument.dst, cached.memory)],
                context: context)
            return cached.memory
        }
        let pd = try Combine.sum([existing.descriptor, b.descriptor], destination: existing.descriptor)
        let result = try Memory(existing.descriptor)
        let primitive = try pd.makePrimitive()
        try primitive.execute(
            [(PrimitiveArgument.multipleSrc(0), existing), (PrimitiveArgument.multipleSrc(1), b), (PrimitiveArgument.dst, result)], context: context)
        if sums[node] == nil { sums[node] = (primitive, result) }
        return result
    }
}
