/// One named tensor a layer owns: a trainable weight (with its accumulated gradient) or a buffer such as
/// BatchNorm's running mean, which is saved and loaded but never trained.
///
/// Values and gradients are kept in the plain layout (`Tensor`); compiled plans reorder them into oneDNN's
/// layouts as needed. Gradients accumulate across backward passes: zeroing is an explicit training step.
public final class Parameter {
    public enum Kind: Sendable { case weight, buffer }

    /// The name inside its layer (`weight`, `bias`, `running_mean`); graphs prefix the node name.
    public let name: String
    public let kind: Kind
    public var value: Tensor
    /// Same shape as `value`; all zeros for buffers. Allocated when first written: a model loaded to predict,
    /// import or export never trains, and zeros for every weight would double its memory.
    public var gradient: Tensor {
        get { storedGradient ?? Tensor(shape: value.shape) }
        _modify {
            if storedGradient == nil { storedGradient = Tensor(shape: value.shape) }
            yield &storedGradient!
        }
        set { storedGradient = newValue }
    }
    private var storedGradient: Tensor?
    /// A frozen weight keeps its value: optimizers skip it and plans need not compute its gradient.
    public var isFrozen: Bool
    /// This weight's learning rate as a fraction of the optimizer's: a pretrained body fine-tuned below a new head
    /// takes smaller steps than the head (discriminative rates, Howard & Ruder, ULMFiT, ACL 2018).
    public var learningRateScale: Float = 1

    public init(name: String, value: Tensor, kind: Kind = .weight, isFrozen: Bool = false) {
        self.name = name
        self.kind = kind
        self.value = value
        self.isFrozen = isFrozen
    }

    /// True when an optimizer should update this parameter.
    public var isTrainable: Bool { kind == .weight && !isFrozen }

    public func zeroGradient() {
        guard storedGradient != nil else { return }
        for i in gradient.scalars.indices { gradient.scalars[i] = 0 }
    }
}
