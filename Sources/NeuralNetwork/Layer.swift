/// The layer protocol of Graft's engine: a named operation with parameters that compiles, for one input
/// layout and mode, into a `CompiledLayer` whose forward and backward run on oneDNN.

/// Training (batch statistics, dropout, saved state for backward) or inference.
public enum Mode: String, Hashable, Sendable, Codable {
    case training, inference
}

/// What a plan asks of a layer when compiling it.
public struct CompileOptions {
    public var mode: Mode
    /// False when no gradient has to flow to the inputs (the layer follows the graph input or a frozen part):
    /// backward then only accumulates parameter gradients.
    public var needsInputGradient: Bool
    /// False for a layer in the frozen prefix: it keeps no backward state and is never run backward.
    public var needsBackward: Bool
    public var context: ComputeContext

    public init(mode: Mode, needsInputGradient: Bool, needsBackward: Bool, context: ComputeContext) {
        self.mode = mode
        self.needsInputGradient = needsInputGradient
        self.needsBackward = needsBackward
        self.context = context
    }
}

/// A layer: a `final class` with named parameters (PyTorch names: `weight`, `bias`, `running_mean`, …).
/// Layers belong to one model; they are not `Sendable`.
public protocol Layer: AnyObject {
    /// The op name in `model.json` (`Conv2d`, `BatchNorm2d`, …).
    var op: String { get }
    /// Attributes as stored in `model.json`.
    var attributes: [String: AttributeValue] { get }
    /// Parameters and buffers in PyTorch order, named inside the layer.
    var parameters: [Parameter] { get }
    /// Output shape for the input shapes, or a `ModelError` naming the layer and the shapes when the
    /// configuration is impossible. Called when a model is built, before any oneDNN primitive exists.
    func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int]
    /// Multiply-accumulates of one forward pass (for summaries).
    func macs(for inputShapes: [[Int]], output: [Int]) -> Int
    /// Creates the primitives and buffers for inputs in these layouts.
    func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer
}

extension Layer {
    public func macs(for inputShapes: [[Int]], output: [Int]) -> Int { 0 }
}

/// A layer compiled for one input layout and mode: the forward saves exactly what backward needs.
///
/// Results (outputs and input gradients) live in buffers owned by the compiled layer and are valid until its
/// next call. Backward returns one gradient per input (in any layout) and adds into the parameters'
/// gradients; zeroing them is an explicit training step.
public protocol CompiledLayer: AnyObject {
    /// The layout of the forward result.
    var output: MemoryDescriptor { get }
    func forward(_ inputs: [Memory]) throws -> Memory
    func backward(_ outputGradient: Memory) throws -> [Memory]
    /// The buffer this step allocated for its forward result, if any. An inference plan may move it into an
    /// arena shared with buffers whose lifetimes do not overlap.
    var ownedOutput: Memory? { get }
}

extension CompiledLayer {
    public var ownedOutput: Memory? { nil }
}

/// An impossible model: wrong shapes, unknown ops, missing inputs; the message names the node and shapes.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Adds a plain tensor into a parameter's gradient (gradients accumulate across backward passes).
func accumulate(_ gradient: Tensor, into parameter: Parameter) {
    precondition(gradient.count == parameter.value.count, "gradient of \(parameter.name): \(gradient.shape)")
    for i in 0..<gradient.count { parameter.gradient.scalars[i] += gradient.scalars[i] }
}
