/// The optimizer protocol, its state-file errors and the slice-parallel loop the update rules share.
import Dispatch

/// Updates trainable parameters from their accumulated gradients, one per-parameter rule at a time.
///
/// An optimizer keeps per-parameter state (momentum, moment estimates) keyed by the parameter key the graph
/// gives (`conv1.weight`), creates it on the first step that sees the key, and skips parameters that are not
/// trainable (buffers, frozen weights). Gradients are read, not zeroed: zeroing is the training loop's step.
public protocol Optimizer: AnyObject {
    /// The rate used by the next `step`; schedules set it before each step.
    var learningRate: Float { get set }
    /// Applies one update to every trainable parameter, in place.
    func step(_ parameters: [(key: String, parameter: Parameter)])
    /// Everything needed to continue identically: tensors named `<key>.<state>` (for example
    /// `conv1.weight.momentum_buffer`, `conv1.weight.exp_avg`) plus the counter `step` (shape [1]).
    func state() -> [String: Tensor]
    /// Replaces the state with one exported by `state()`; throws `OptimizerStateError` on unknown names,
    /// missing companions or inconsistent shapes, leaving the current state unchanged. State read from a file
    /// should go through `loadState(_:parameters:)`, which also checks it against the parameters (a buffer whose
    /// shape differs from its parameter's is a programmer error once stepping).
    func loadState(_ state: [String: Tensor]) throws
}

extension Optimizer {
    /// Loads `state` after checking it against the parameters it will update: every per-parameter tensor
    /// must belong to one of `parameters` and have its shape.
    public func loadState(_ state: [String: Tensor], parameters: [(key: String, parameter: Parameter)]) throws {
        let shapes = Dictionary(parameters.map { ($0.key, $0.parameter.value.shape) }, uniquingKeysWith: { a, _ in a })
        for (name, tensor) in state.sorted(by: { $0.key < $1.key }) where name != OptimizerState.stepName {
            guard let (key, suffix) = OptimizerState.split(name) else { continue }  // loadState reports it
            guard let shape = shapes[key] else { throw OptimizerStateError.unknownParameter(name: name, key: key) }
            if suffix != "step" && tensor.shape != shape {
                throw OptimizerStateError.shapeMismatch(name: name, expected: shape, found: tensor.shape)
            }
        }
        try loadState(state)
    }
}

/// Why an optimizer state could not be loaded. Each message names the offending tensor.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
    /// A tensor name that this optimizer never writes.
    case unexpectedName(name: String, optimizer: String)
    /// A per-parameter tensor whose parameter is not among those being trained.
    case unknownParameter(name: String, key: String)
    /// A state tensor whose shape differs from its parameter's or its companion's.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// A state tensor whose companion (for example `exp_avg_sq` beside `exp_avg`) is absent.
    case missing(name: String)
    /// A step counter that is not a single non-negative whole number.
    case invalidStep(name: String, found: [Float])

    public var description: String {
        switch self {
        case let .unexpectedName(name, optimizer):
            return "optimizer state: tensor '\(name)' is not part of \(optimizer)'s state (wrong optimizer type?)"
        case let .unknownParameter(name, key):
            return "optimizer state: tensor '\(name)' belongs to parameter '\(key)', which is not being trained"
        case let .shapeMismatch(name, expected, found):
            return "optimizer state: tensor '\(name)' has shape \(found), expected \(expected)"
        case let .missing(name):
            return "optimizer state: tensor '\(name)' is missing"
        case let .invalidStep(name, found):
            return "optimizer state: '\(name)' must hold one non-negative whole number, found \(found.prefix(4))"
        }
    }
}

/// Naming and checking helpers shared by the optimizers' state import and export.
enum OptimizerState {
    static let stepName = "step"
    static let suffixes = ["momentum_buffer", "exp_avg_sq", "exp_avg", "step"]

    /// Splits `conv1.weight.exp_avg` into (`conv1.weight`, `exp_avg`); nil when no known suffix applies.
    static func split(_ name: String) -> (key: String, suffix: String)? {
        for suffix in suffixes where name.hasSuffix("." + suffix) && name.count > suffix.count + 1 {
            return (String(name.dropLast(suffix.count + 1)), suffix)
        }
        return nil
    }

    static func stepTensor(_ step: Int) -> Tensor { Tensor(shape: [1], scalars: [Float(step)]) }

    /// Reads a step counter written by `stepTensor`.
    static func readStep(_ tensor: Tensor, name: String) throws -> Int {
        guard tensor.shape == [1], let value = tensor.scalars.first, value >= 0, value == value.rounded(),
              value < 16_777_216 else {
            throw OptimizerStateError.invalidStep(name: name, found: tensor.scalars)
        }
        return Int(value)
    }
}
