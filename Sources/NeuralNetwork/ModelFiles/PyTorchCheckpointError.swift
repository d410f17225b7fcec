/// Why a PyTorch checkpoint was refused, naming the file and what in it is at fault.

/// A PyTorch checkpoint that could not be read (`file`: the path, or the name given to `PyTorchCheckpoint.read(data:name:)`).
public typealias PyTorchCheckpointError = ModelFileError<PyTorchCheckpointProblem>

/// What is wrong with a PyTorch checkpoint.
public enum PyTorchCheckpointProblem: ModelFileProblem {
    /// Neither a zip archive nor a legacy checkpoint starting with torch's magic number.
    case unrecognizedFormat
    /// The file ends before a structure it declares (a pickle, a zip record, a storage).
    case truncated(String)
    /// The zip container is malformed, compressed, or uses a feature the reader does not accept.
    case invalidArchive(String)
    /// A pickle opcode outside the restricted set state dicts use.
    case unknownOpcode(opcode: UInt8, offset: Int)
    /// A global the unpickler does not allow (it never imports or calls anything).
    case disallowedGlobal(module: String, name: String)
    /// A well-formed pickle whose contents are not what a state dict holds.
    case invalidPickle(String)
    /// Marks, containers or the memo nested or grown beyond the reader's limits.
    case limitExceeded(String)
    /// A tensor's storage is missing, of an unknown type, or too short for its size, stride and offset.
    case invalidStorage(tensor: String, problem: String)
    /// A tensor's size or stride is negative or absurd.
    case invalidShape(tensor: String, problem: String)
    /// Reading the file failed.
    case io(String)

    public static let fileKind = "PyTorch checkpoint"

    public var phrase: String {
        switch self {
        case .unrecognizedFormat:
            return "is neither a zip archive nor a legacy torch.save file (wrong magic number)"
        case let .truncated(problem):
            return "is truncated: \(problem)"
        case let .invalidArchive(problem):
            return "is not a usable zip archive: \(problem)"
        case let .unknownOpcode(opcode, offset):
            return "uses pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset), which a state dict does not need"
        case let .disallowedGlobal(module, name):
            return "refers to the global \(module).\(name), which is not allowed in a state dict"
        case let .invalidPickle(problem):
            return "has an invalid state-dict pickle: \(problem)"
        case let .limitExceeded(problem):
            return "exceeds a reader limit: \(problem)"
        case let .invalidStorage(tensor, problem):
            return "has an invalid storage for tensor '\(tensor)': \(problem)"
        case let .invalidShape(tensor, problem):
            return "has an invalid shape for tensor '\(tensor)': \(problem)"
        case let .io(message):
            return "could not be accessed: \(message)"
        }
    }
}
