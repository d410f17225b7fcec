/// A graph compiled for one input shape and mode: the compiled layers (primitives, buffers, reorders) in
/// topological order, run forward every step and in reverse for backward.
final class Plan {
    let key: PlanKey
    let context: ComputeContext
    let frozen: [Bool]
    /// `isTrainable` of every parameter when compiled.
    let trainable: [Bool]
    let steps: [CompiledLayer]
    let inputIndices: [[Int]]
    /// Steps that run backward (trainable or with a trainable node upstream).
    let runsBackward: [Bool]
    let outputIndex: Int
    let inputMemory: Memory
    /// Fused nodes and the convolution computing them; convolutions accumulating into another node's output.
    let absorbedInto: [Int: Int]
    let accumulates: [Int: Int]
    private var outputs: [Memory?]
    private let outputGradient: Memory
    private var gradientAdapters: [Int: LayoutAdapter] = [:]
    private var sums: [Int: (primitive: Primitive, memory: Memory)] = [:]
    /// Inference plans: the shared storage of the steps' results.
    private(set) var arena: ActivationArena?

    init(graph: Graph, key: PlanKey) throws {
        self.key = key
        context = graph.context
        context.activate()
        let frozen = graph.frozenPrefix()
        self.frozen = frozen
        trainable = graph.trainableFlags()
        inputIndices = graph.inputIndices
        outputIndex = graph.outputIndex
        let shapes = try graph.shapes(for: key.inputShape)
        let inputMemory = try Memory(.plain(key.inputShape))
        self.inputMemory = inputMemory
        var outputLayouts: [MemoryDescriptor] = []
        var steps: [CompiledLayer] = []
        var runsBackward: [Bool] = []
        var fusions = Self.inferenceFusions(graph: graph, shapes: shapes, frozen: frozen, mode: key.mode)
        let normReLU = Self.trainingNormReLU(graph: graph, frozen: frozen, mode: key.mode)
        for (norm, relu) in normReLU { fusions.absorbed[relu] = norm }
        for (i, layer) in graph.layers.enumerated() {
            if let fused = fusions.absorbed[i] {
                // computed by the node it was fused into: pass that result through (and, for a ReLU fused into
                // a training BatchNorm, its gradient back, since the norm's backward applies the ReLU mask)
                let step = PassThrough(output: outputLayouts[fused])
                outputLayouts.append(step.output)
                steps.append(step)
                runsBackward.append(normReLU[fused] == i)
                continue
            }
            let inputs = graph.inputIndices[i].map { $0 < 0 ? inputMemory.descriptor : outputLayouts[$0] }
            let training = key.mode == .training && !frozen[i]
            // A BatchNorm whose own parameters are frozen always uses its running statistics.
            let frozenNorm = layer is BatchNorm2d && !layer.parameters.contains { $0.isTrainable }
            let options = CompileOptions(
                mode: training && !frozenNorm ? .training : .inference,
                needsInputGradient: training
                    && graph.inputIndices[i].contains { $0 < 0 ? graph.inputRequiresGradient : !frozen[$0] },
                needsBackward: training, context: context)
            let step: CompiledLayer
            if normReLU[i] != nil, let norm = layer as? BatchNorm2d {
                step = try CompiledBatchNorm2d(layer: norm, input: inputs[0], options: options, fuseReLU: true)
            } else if let fusion = fusions.heads[i], let conv = layer as? Conv2d, options.mode == .inference {
                step = try CompiledConv2d(layer: conv, input: inputs[0], outputDims: shapes[i], options: options,
                                          foldedNorm: fusion.norm, postOps: fusion.postOps,
                                          accumulates: fusions.accumulates[i] != nil)
            } else {
                step = try layer.compile(inputs: inputs, options: options)
            }
            precondition(step.output.dims == shapes[i], "node \(graph.nodes[i].name): \(step.output.dims) vs \(shapes[i])")
            outputLayouts.append(step.output)
            steps.append(step)
            runsBackward.append(training)
        }
        self.steps = steps
        absorbedInto = fusions.absorbed
        accumulates = fusions.accumulates
        self.runsBackward = runsBackward
        outputs = Array(repeating: nil, count: steps.count)
        outputGradient = try Memory(.plain(shapes[graph.outputIndex]))
        if key.mode == .inference && graph.sharesInferenceStorage {
            arena = try shareActivationStorage()
            // The separate buffers just freed would otherwise stay resident (see releaseFreedPages).
            if arena != nil { Memory.releaseFreedPages() }
        }
    }

    /// Inference-mode fusions, found once per plan:
    /// - Conv2d → BatchNorm2d → an element-wise activation (any `ElementwiseLayer`; each link the only consumer of
    ///   the previous, none but the last the graph output) becomes one convolution with the norm folded in and the
    ///   activation as post-ops;
    /// - a residual Add of two equal shapes whose one input ends such a chain accumulates into the other input's
    ///   buffer with a sum post-op (when that buffer is not read afterwards and nothing keeps it for backward), with
    ///   an activation after the Add as further post-ops.
    struct Fusions {
        var heads: [Int: (norm: BatchNorm2d?, postOps: [PostOp])] = [:]
        /// Node → the convolution that computes its output.
        var absorbed: [Int: Int] = [:]
        /// Convolution → the node whose output it accumulates into.
        var accumulates: [Int: Int] = [:]
    }

    /// `shapes`: every node's output shape for the plan's input.
    static func inferenceFusions(graph: Graph, shapes: [[Int]], frozen: [Bool], mode: Mode) -> Fusions {
        var consumers = [[Int]](repeating: [], count: graph.layers.count)
        for (i, inputs) in graph.inputIndices.enumerated() { for j in inputs where j >= 0 { consumers[j].append(i) } }
        func inference(_ i: Int) -> Bool { mode == .inference || frozen[i] }
        func soleConsumer(_ i: Int) -> Int? {
            guard consumers[i].count == 1, i != graph.outputIndex, inference(consumers[i][0]) else { return nil }
            return consumers[i][0]
        }
        func activation(_ k: Int) -> PostOp? {
            (graph.layers[k] as? ElementwiseLayer).map { .eltwise($0.function) }
        }
        var fusions = Fusions()
        for (i, layer) in graph.layers.enumerated() where layer is Conv2d && inference(i) {
            var norm: BatchNorm2d?, postOps: [PostOp] = [], last = i
            if let j = soleConsumer(last), let bn = graph.layers[j] as? BatchNorm2d {
                norm = bn; fusions.absorbed[j] = i; last = j
            }
            if let k = soleConsumer(last), let op = activation(k) {
                postOps = [op]; fusions.absorbed[k] = i
            } else if let a = soleConsumer(last), graph.layers[a] is Add, fusions.absorbed[a] == nil,
                      let other = graph.inputIndices[a].first(where: { $0 != last }), other >= 0, other < i,
                      other != graph.outputIndex, consumers[other].allSatisfy({ $0 == a || ($0 < i && inference($0)) }),
                      graph.inputIndices[a].count == 2, shapes[other] == shapes[last]
            {
                postOps = [.sum(scale: 1)]
                fusions.absorbed[a] = i
                fusions.accumulates[i] = other
                if let k = soleConsumer(a), let op = activation(k) {
                    postOps.append(op); fusions.absorbed[k] = i
                }
            }
            if norm != nil || !postOps.isEmpty { fusions.heads[i] = (norm, postOps) }
        }
        return fusions
    }

    /// Training-mode BatchNorm2d → ReLU pairs (the ReLU the norm's only consumer, both trained, the norm not the
    /// graph output): the norm applies the ReLU itself (oneDNN's fused norm-ReLU), saving a pass over the data
    /// forward and backward. Norm index → ReLU index.
    static func trainingNormReLU(graph: Graph, frozen: [Bool], mode: Mode) -> [Int: Int] {
        guard mode == .training else { return [:] }
        var consumers = [[Int]](repeating: [], count: graph.layers.count)
        for (i, inputs) in graph.inputIndices.enumerated() { for j in inputs where j >= 0 { consumers[j].append(i) } }
        var pairs: [Int: Int] = [:]
        for (j, layer) in graph.layers.enumerated() where layer is BatchNorm2d && !frozen[j] {
            guard layer.parameters.contains(where: { $0.isTrainable }), consumers[j].count == 1, j != graph.outputIndex,
                  let k = consumers[j].first, graph.layers[k] is ReLU, !frozen[k] else { continue }
            pairs[j] = k
        }
        return pairs
    }

    /// Still valid while no parameter was frozen or unfrozen since compiling (that changes modes and which
    /// backward primitives exist).
    func isCurrent(trainable current: [Bool]) -> Bool { current == trainable }

    /// Runs every step; `trace` sees each step's inputs and result (for planning storage).
    func forward(_ input: Tensor, trace: ((_ inputs: [Memory], _ output: Memory) -> Void)? = nil) throws -> Memory {
        inputMemory.setPlainScalars(input.scalars)
        for (i, step) in steps.enumerated() {
            if let head = absorbedInto[i] {
                outputs[i] = outputs[head]
                trace?([], outputs[i]!)
                continue
            }
            var inputs = inputIndices[i].map { $0 < 0 ? inputMemory : outputs[$0]! }
            if let other = accumulates[i] { inputs.append(outputs[other]!) }
            outputs[i] = try step.forward(inputs)
            trace?(inputs, outputs[i]!)
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
        // binary add (a jit kernel) rather than the sum primitive, whose blocked-layout implementation is generic
        if let cached = sums[node], cached.memory.descriptor == existing.descriptor, cached.memory !== existing {
            try cached.primitive.execute(
                [(PrimitiveArgument.src, existing), (PrimitiveArgument.src1, b), (PrimitiveArgument.dst, cached.memory)],
                context: context)
            return cached.memory
        }
        let pd = try Combine.binary(.add, existing.descriptor, b.descriptor, destination: existing.descriptor)
        let result = try Memory(existing.descriptor)
        let primitive = try pd.makePrimitive()
        try primitive.execute(
            [(PrimitiveArgument.src, existing), (PrimitiveArgument.src1, b), (PrimitiveArgument.dst, result)],
            context: context)
        if sums[node] == nil { sums[node] = (primitive, result) }
        return result
    }
}

/// A node whose work was fused into an earlier convolution: its output is that convolution's.
final class PassThrough: CompiledLayer {
    let output: MemoryDescriptor
    init(output: MemoryDescriptor) { self.output = output }
    func forward(_ inputs: [Memory]) throws -> Memory { inputs[0] }
    func backward(_ outputGradient: Memory) throws -> [Memory] { [outputGradient] }
}
