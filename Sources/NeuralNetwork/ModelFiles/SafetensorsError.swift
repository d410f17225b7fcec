/// Why a safetensors file was refused, naming the file and, where one is at fault, the tensor.

/// A safetensors file that could not be read or written (`file`: the path, or the name given to `Safetensors.read(data:name:)`).
public typealias SafetensorsError = ModelFileError<SafetensorsProblem>

/// What is wrong with a safetensors file, and with which tensor.
public enum SafetensorsProblem: ModelFileProblem {
    /// Fewer than the 8 bytes of the header length.
    case fileTooShort(size: Int)
    /// The header length exceeds the 100 MB limit.
    case headerTooLarge(length: UInt64, limit: Int)
    /// The header length points past the end of the file.
    case headerBeyondFile(length: UInt64, available: Int)
    /// The header is not one well-formed UTF-8 JSON object.
    case invalidHeader(String)
    /// `__metadata__` is not an object of strings.
    case invalidMetadata(String)
    /// The same tensor name appears twice.
    case duplicateName(tensor: String)
    /// A tensor entry lacks a field, has an extra one, or has one of the wrong type.
    case invalidEntry(tensor: String, problem: String)
    /// A dtype the format does not define.
    case unknownDtype(tensor: String, dtype: String)
    /// A dtype the format defines but Graft cannot turn into Float32 (the 8-bit floats).
    case unsupportedDtype(tensor: String, dtype: String)
    /// A negative, non-integer or absurdly large extent.
    case invalidShape(tensor: String, shape: String)
    /// `data_offsets` that are not an ordered pair inside the byte buffer.
    case offsetsOutOfBounds(tensor: String, begin: Int, end: Int, bufferSize: Int)
    /// Two tensors claim the same bytes.
    case overlappingData(tensor: String, other: String)
    /// Bytes of the buffer that no tensor claims (a hole before `tensor`, or trailing bytes when nil).
    case uncoveredData(before: String?, begin: Int, end: Int)
    /// The shape's element count times the dtype size differs from the byte span.
    case sizeMismatch(tensor: String, shape: [Int], dtype: String, expectedBytes: Int, spanBytes: Int)
    /// A tensor given to `write` whose scalar count does not match its shape.
    case inconsistentTensor(tensor: String)
    /// A tensor given to `write` under the reserved name `__metadata__`.
    case reservedName(tensor: String)
    /// Reading or writing the file failed.
    case io(String)

    public static let fileKind = "safetensors file"

    public var phrase: String {
        switch self {
        case let .fileTooShort(size):
            return "is \(size) bytes long, shorter than the 8-byte header length"
        case let .headerTooLarge(length, limit):
            return "declares a \(length)-byte header, above the \(limit)-byte limit"
        case let .headerBeyondFile(length, available):
            return "declares a \(length)-byte header but only \(available) bytes follow the length field"
        case let .invalidHeader(problem):
            return "has an invalid JSON header: \(problem)"
        case let .invalidMetadata(problem):
            return "has invalid __metadata__: \(problem)"
        case let .duplicateName(tensor):
            return "names tensor '\(tensor)' more than once"
        case let .invalidEntry(tensor, problem):
            return "has an invalid entry for tensor '\(tensor)': \(problem)"
        case let .unknownDtype(tensor, dtype):
            return "gives tensor '\(tensor)' the unknown dtype '\(dtype)'"
        case let .unsupportedDtype(tensor, dtype):
            return "gives tensor '\(tensor)' dtype \(dtype), which cannot be converted to F32"
        case let .invalidShape(tensor, shape):
            return "gives tensor '\(tensor)' the invalid shape \(shape)"
        case let .offsetsOutOfBounds(tensor, begin, end, bufferSize):
            return "gives tensor '\(tensor)' data_offsets [\(begin), \(end)] outside the \(bufferSize)-byte buffer"
        case let .overlappingData(tensor, other):
            return "stores tensors '\(other)' and '\(tensor)' in overlapping bytes"
        case let .uncoveredData(before, begin, end):
            let place = before.map { "before tensor '\($0)'" } ?? "after the last tensor"
            return "has bytes \(begin)..<\(end) of its buffer that belong to no tensor (\(place))"
        case let .sizeMismatch(tensor, shape, dtype, expectedBytes, spanBytes):
            return "gives tensor '\(tensor)' shape \(shape) of \(dtype) (\(expectedBytes) bytes) but a " +
                "\(spanBytes)-byte span"
        case let .inconsistentTensor(tensor):
            return "was asked to store tensor '\(tensor)' whose scalars do not match its shape"
        case let .reservedName(tensor):
            return "cannot store a tensor named '\(tensor)': the name is reserved for the metadata"
        case let .io(message):
            return "could not be accessed: \(message)"
        }
    }
}
