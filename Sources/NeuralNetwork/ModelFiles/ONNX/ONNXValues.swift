/// What an ONNX value is while a graph is translated: a tensor a Graft node computes, a constant folded at import
/// (weights, and the shape arithmetic exporters emit), or a pattern waiting for the node that completes it.
import Tensors

/// One element of an integer constant: a known value or the batch size, which stays symbolic so that an
/// imported model runs at any batch (exporters compute reshape targets from `Shape(x)[0]`).
enum ShapeElement: Equatable, CustomStringConvertible {
    case batch
    case value(Int64)

    var description: String {
        switch self {
        case .batch: return "N"
        case .value(let v): return "\(v)"
        }
    }
}

/// A constant: float data (weights) or integers (shapes, indices, axes), with its ONNX shape.
struct Constant {
    var shape: [Int]
    var floats: [Float]?
    var integers: [ShapeElement]?

    var count: Int { shape.reduce(1, *) }

    init(shape: [Int], floats: [Float]) {
        self.shape = shape
        self.floats = floats
    }

    init(shape: [Int], integers: [ShapeElement]) {
        self.shape = shape
        self.integers = integers
    }

    /// The values as plain integers, or nil when one is the symbolic batch or the constant holds floats that are
    /// not whole.
    var knownIntegers: [Int]? {
        if let integers {
            var out: [Int] = []
            for e in integers { guard case .value(let v) = e else { return nil }; out.append(Int(v)) }
            return out
        }
        if let floats, floats.allSatisfy({ $0 == $0.rounded() && abs($0) < 1e15 }) { return floats.map { Int($0) } }
        return nil
    }

    /// The values as elements (floats that are whole become integers).
    var elements: [ShapeElement]? {
        if let integers { return integers }
        return knownIntegers.map { $0.map { .value(Int64($0)) } }
    }

    /// One float for a scalar (or one-element) constant.
    var scalar: Float? {
        guard count == 1 else { return nil }
        if let floats { return floats[0] }
        if case .value(let v)? = integers?.first { return Float(v) }
        return nil
    }
}

/// A value of the ONNX graph during translation.
enum ONNXValue {
    /// The output of a Graft node (or the graph input), with its shape at batch 1.
    case tensor(node: String, shape: [Int])
    case constant(Constant)
    /// A constant-mode Pad not yet emitted: folded into the convolution that consumes it when it can be.
    case pendingPad(source: String, shape: [Int], pads: [Int], value: Float)
    /// ShuffleNet's channel shuffle in progress: N×C×H×W reshaped to N×g×(C/g)×H×W, then transposed to
    /// N×(C/g)×g×H×W; the final reshape back to N×C×H×W makes it one ChannelShuffle.
    case shuffleSplit(source: String, shape: [Int], groups: Int)
    case shuffleTransposed(source: String, shape: [Int], groups: Int)
}
