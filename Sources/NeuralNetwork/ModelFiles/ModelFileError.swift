/// The error every model-file reader throws: which file, and what is wrong with it in a phrase of its format's.

/// What a format's reasons give their error: the kind of file, and what is wrong as it reads after the file's path
/// ("is truncated: the pickle ends at byte 120").
public protocol ModelFileProblem: Equatable, Sendable {
    static var fileKind: String { get }
    var phrase: String { get }
}

/// A model file that could not be read or written. `file` is the path (or the name given to a reader of bytes);
/// `reason` says what is wrong and, where one is at fault, with which tensor.
public struct ModelFileError<Problem: ModelFileProblem>: Error, Equatable, CustomStringConvertible {
    /// The format's reasons (`SafetensorsError.Reason.fileTooShort`).
    public typealias Reason = Problem

    public let file: String
    public let reason: Reason

    public init(file: String, reason: Reason) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(Problem.fileKind) \(file) \(reason.phrase)" }
}
