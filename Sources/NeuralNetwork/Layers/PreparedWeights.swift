/// A compiled layer's weights and bias in the layouts its primitives chose, rebuilt only when the parameter
/// arrays they derive from change: inference and frozen layers reorder (and fold) once, not on every call.
import Tensors

final class PreparedWeights {
    /// The weights in plain (PyTorch) order: what backward primitives reorder from. Inference-only layers do not
    /// keep it (a model's worth of memory per plan).
    private var plain: Memory?
    private let plainDims: [Int]
    private let keepsPlain: Bool
    private let forwardAdapter: LayoutAdapter
    private let bias: Memory?
    private let context: ComputeContext
    /// The arrays the current contents were derived from. Comparing them is O(1) while each is still the very
    /// buffer held by its parameter (Swift arrays compare storage identity first); an optimizer step writes a
    /// new buffer, so a change is always seen.
    private var sources: [[Float]]?
    private var forwardWeights: Memory?
    private var otherLayouts: [ObjectIdentifier: Memory] = [:]

    init(dims: [Int], forwardLayout: MemoryDescriptor, biasCount: Int?, keepsPlain: Bool, context: ComputeContext)
        throws
    {
        plainDims = dims
        self.keepsPlain = keepsPlain
        forwardAdapter = LayoutAdapter(target: forwardLayout, context: context)
        bias = try biasCount.map { try Memory(.plain([$0])) }
        self.context = context
    }

    /// Weights in the forward layout and the bias, for the parameters whose arrays are `sources`. `derive` computes
    /// the weights (plain order) and bias from them; it runs only when some source array changed.
    func forward(sources current: [[Float]], derive: () -> (weight: Tensor, bias: [Float]?)) throws
        -> (weights: Memory, bias: Memory?)
    {
        if current != sources || forwardWeights == nil {
            let (weight, biasValues) = derive()
            let plain = try self.plain ?? Memory(.plain(plainDims))
            try plain.write(weight, context: context)
            if let bias, let biasValues { bias.setPlainScalars(biasValues) }
            forwardWeights = try forwardAdapter(plain)
            if keepsPlain { self.plain = plain }
            otherLayouts.removeAll(keepingCapacity: true)
            sources = current
        }
        return (forwardWeights!, bias)
    }

    /// The current weights in another primitive's layout (backward data), reordered once per change. The adapter
    /// must serve only this object: its buffer is kept as the cached copy.
    func inLayout(_ adapter: LayoutAdapter) throws -> Memory {
        if let cached = otherLayouts[ObjectIdentifier(adapter)] { return cached }
        guard let plain else { preconditionFailure("weights of an inference-only layer have no other layouts") }
        let converted = try adapter(plain)
        otherLayouts[ObjectIdentifier(adapter)] = converted
        return converted
    }
}
