/// Reading an ONNX file: the protobuf decoded with swift-protobuf (onnx.pb.swift), checked before anything is
/// allocated from its declarations, and its tensors turned into Graft tensors (raw, typed or external data).
import Foundation
import SwiftProtobuf
import Tensors

/// A decoded ONNX model with the file it came from (external data is resolved beside it).
struct ONNXFile {
    /// Larger files are refused before reading: protobuf's own limit is 2 GiB per message.
    static let maximumBytes = 2 << 30
    /// The ai.onnx opsets whose operator semantics the importer implements.
    static let supportedOpsets = 7...18

    let url: URL
    let model: Onnx_ModelProto
    /// The ai.onnx opset the graph uses.
    let opset: Int
    /// SHA-256 of the file's bytes (the imported model's provenance).
    let sha256: String
    let byteCount: Int
    /// Where external data files may be read from: the file's folder, or nowhere for bytes without a folder (an upload).
    let externalDataFolder: URL?

    /// Every initializer, converted, in file order (the decoded `model` holds none: they are read one at a time).
    let initializers: [(name: String, value: Constant)]

    /// The file at `url`, read in place (initializers by positioned reads), its external data from its own folder.
    init(contentsOf url: URL) throws {
        try self.init(contentsOf: url, named: url, externalDataFolder: url.deletingLastPathComponent())
    }

    /// The file at `url` under another name for errors (an upload spooled to a temporary file), with external data
    /// only from `externalDataFolder`, or none when it is nil.
    init(contentsOf url: URL, named name: URL, externalDataFolder: URL?) throws {
        let source: ONNXFileSource
        do { source = try ONNXFileSource(url: url) } catch {
            throw ONNXError(file: name.path, reason: .notONNX(detail: "it cannot be read (\(error.localizedDescription))"))
        }
        guard source.count <= Self.maximumBytes else {
            throw ONNXError(file: name.path, reason: .tooLarge(bytes: source.count, limit: Self.maximumBytes))
        }
        try self.init(source: source, url: name, externalDataFolder: externalDataFolder)
    }

    init(data: Data, url: URL, externalDataFolder: URL?) throws {
        guard data.count <= Self.maximumBytes else {
            throw ONNXError(file: url.path, reason: .tooLarge(bytes: data.count, limit: Self.maximumBytes))
        }
        try self.init(source: ONNXDataSource(data: data), url: url, externalDataFolder: externalDataFolder)
    }

    private init(source: ONNXByteSource, url: URL, externalDataFolder: URL?) throws {
        self.url = url
        self.externalDataFolder = externalDataFolder
        let path = url.path
        byteCount = source.count
        if let kind = Self.recognisedOtherFormat(try source.bytes(0..<min(16, source.count))) {
            throw ONNXError(file: path, reason: .notONNX(detail: "it looks like \(kind)"))
        }
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 64
        var converted: [(name: String, value: Constant)] = []
        do {
            let reader = TensorReader(url: url, externalDataFolder: externalDataFolder)
            model = try Self.decode(source, options: options) { tensor in
                converted.append((tensor.name, try reader.constant(from: tensor)))
            }
        } catch let error as BinaryDecodingError {
            throw ONNXError(file: path, reason: .malformed(detail: Self.describe(error)))
        } catch ONNXStreamError.truncated(let detail) {
            throw ONNXError(file: path, reason: .malformed(detail: "it is truncated: \(detail)"))
        } catch ONNXStreamError.malformed(let detail) {
            throw ONNXError(file: path, reason: .malformed(detail: detail))
        }
        initializers = converted
        guard model.hasGraph, model.irVersion > 0, !model.graph.node.isEmpty else {
            throw ONNXError(file: path, reason: .notONNX(
                detail: "it decodes as protobuf but has no graph, nodes or IR version"))
        }
        let defaults = model.opsetImport.filter { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        guard let version = defaults.map({ Int($0.version) }).max() else {
            throw ONNXError(file: path, reason: .notONNX(detail: "it imports no ai.onnx opset"))
        }
        guard Self.supportedOpsets.contains(version) else {
            throw ONNXError(file: path, reason: .unsupportedOpset(domain: "", version: version, supported: Self.supportedOpsets))
        }
        if let node = model.graph.node.first(where: { !$0.domain.isEmpty && $0.domain != "ai.onnx" }) {
            let opset = model.opsetImport.first { $0.domain == node.domain }.map { Int($0.version) } ?? 0
            throw ONNXError(file: path, reason: .unsupportedOpset(domain: node.domain, version: opset, supported: Self.supportedOpsets))
        }
        opset = version
        var hasher = SHA256()
        let chunk = 8 << 20
        var offset = 0
        while offset < source.count {
            hasher.update(try source.bytes(offset..<min(source.count, offset + chunk)))
            offset += chunk
        }
        sha256 = hasher.finalizeHex()
    }

    /// Formats users hand over by mistake, by their magic bytes.
    static func recognisedOtherFormat(_ data: Data) -> String? {
        let head = [UInt8](data.prefix(8))
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "a zip archive (a PyTorch .pth checkpoint? use graft import pytorch)" }
        if head.starts(with: [0x80]) && head.count > 1 && head[1] <= 5 { return "a Python pickle (a legacy PyTorch checkpoint? use graft import pytorch)" }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "a PNG image" }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "a JPEG image" }
        if data.count > 9, data[data.startIndex + 8] == UInt8(ascii: "{") { return "a safetensors file (use graft import pytorch)" }
        if head.first == UInt8(ascii: "{") { return "a JSON document" }
        return nil
    }

    static func describe(_ error: BinaryDecodingError) -> String {
        switch error {
        case .truncated: return "it ends in the middle of a field"
        case .malformedProtobuf: return "a field's encoding is invalid"
        case .invalidUTF8: return "a string is not UTF-8"
        case .messageDepthLimit: return "messages are nested too deeply"
        case .missingRequiredFields: return "a required field is missing"
        default: return "\(error)"
        }
    }

    // MARK: - Tensors

    /// Converts a Constant node's tensor the way initializers are converted.
    func constant(from tensor: Onnx_TensorProto) throws -> Constant {
        try TensorReader(url: url, externalDataFolder: externalDataFolder).constant(from: tensor)
    }
}

/// Turns TensorProtos into constants: shape checked against the bytes before allocating, external data resolved
/// only inside the model's folder.
struct TensorReader {
    let url: URL
    let externalDataFolder: URL?
    static let maximumBytes = ONNXFile.maximumBytes

    func constant(from tensor: Onnx_TensorProto) throws -> Constant {
        let (shape, floats, integers) = try values(of: tensor)
        if let integers { return Constant(shape: shape, integers: integers.map { .value($0) }) }
        return Constant(shape: shape, floats: floats ?? [])
    }

    /// Element types of TensorProto.data_type that the importer reads.
    enum ElementType: Int32 {
        case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, bool = 9, float16 = 10, double = 11

        var encoding: ScalarEncoding {
            switch self {
            case .float: return .float32
            case .uint8: return .uint8
            case .int8: return .int8
            case .int32: return .int32
            case .int64: return .int64
            case .bool: return .bool
            case .float16: return .float16
            case .double: return .float64
            }
        }
        var isInteger: Bool { [.uint8, .int8, .int32, .int64, .bool].contains(self) }
    }

    /// The tensor's values: floats for floating types, exact integers for integer types. The byte count is checked
    /// against the declared shape before anything is allocated.
    func values(of tensor: Onnx_TensorProto) throws -> (shape: [Int], floats: [Float]?, integers: [Int64]?) {
        let name = tensor.name
        func fail(_ detail: String) -> ONNXError { ONNXError(file: url.path, reason: .tensorSize(tensor: name, detail: detail)) }
        guard let type = ElementType(rawValue: tensor.dataType) else {
            throw fail("data type \(tensor.dataType) is not supported (float, float16, double and integer types are)")
        }
        guard tensor.dims.allSatisfy({ $0 >= 0 }) else { throw fail("negative dimension in \(tensor.dims)") }
        let shape = tensor.dims.map { Int($0) }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= Self.maximumBytes else {
                throw fail("declared shape \(shape) is larger than any file Graft imports")
            }
            count = product
        }
        let bytes: ByteView
        if tensor.dataLocation == .external {
            bytes = try externalBytes(of: tensor, expected: count * type.encoding.byteCount)
        } else if !tensor.rawData.isEmpty || count == 0 {
            let expected = count * type.encoding.byteCount
            guard tensor.rawData.count == expected else {
                throw fail("declared shape \(shape) needs \(expected) bytes of \(type) but raw_data holds \(tensor.rawData.count)")
            }
            bytes = ByteView(tensor.rawData)
        } else {
            // typed fields: float_data, int32_data (also int8/uint8/bool/float16 bits), int64_data, double_data
            let found: Int
            switch type {
            case .float: found = tensor.floatData.count
                if found == count { return (shape, tensor.floatData, nil) }
            case .int64: found = tensor.int64Data.count
                if found == count { return (shape, nil, tensor.int64Data) }
            case .double: found = tensor.doubleData.count
                if found == count { return (shape, tensor.doubleData.map { Float($0) }, nil) }
            case .float16: found = tensor.int32Data.count
                if found == count { return (shape, tensor.int32Data.map { Float(float16Bits: UInt16(truncatingIfNeeded: $0)) }, nil) }
            case .int32, .int8, .uint8, .bool: found = tensor.int32Data.count
                if found == count { return (shape, nil, tensor.int32Data.map { Int64($0) }) }
            }
            throw fail("declared shape \(shape) needs \(count) values but the file holds \(found)")
        }
        do {
            if type.isInteger {
                var values: [Int64] = []
                values.reserveCapacity(count)
                let size = type.encoding.byteCount
                for i in 0..<count {
                    let raw = try bytes.unsignedInteger(byteCount: size, at: i * size, .littleEndian, name)
                    // sign-extend the signed types
                    let shift = UInt64(64 - 8 * size)
                    values.append(type == .uint8 || type == .bool ? Int64(raw) : Int64(bitPattern: raw << shift) >> Int64(shift))
                }
                return (shape, nil, values)
            }
            return (shape, try bytes.floats(as: type.encoding, name), nil)
        } catch {
            throw fail(error.description)
        }
    }

    /// External data: `location` names a file inside the model's folder (no absolute paths, no `..`, no symbolic
    /// link leading out), `offset` and `length` lie inside it and match the declared size.
    private func externalBytes(of tensor: Onnx_TensorProto, expected: Int) throws -> ByteView {
        func fail(_ detail: String) -> ONNXError { ONNXError(file: url.path, reason: .externalData(tensor: tensor.name, detail: detail)) }
        var entries: [String: String] = [:]
        for entry in tensor.externalData { entries[entry.key] = entry.value }
        guard let location = entries["location"], !location.isEmpty else { throw fail("has no location") }
        let components = location.split(separator: "/", omittingEmptySubsequences: false)
        guard !location.hasPrefix("/"), !location.contains("\\"), !components.contains(where: { $0 == ".." || $0.isEmpty }) else {
            throw fail("location '\(location)' points outside the model's folder; keep external data files beside the .onnx file")
        }
        guard let base = externalDataFolder else {
            throw fail("is not available: an uploaded model must carry its weights inside the .onnx file "
                + "(save it with onnx.save_model(..., save_as_external_data=False))")
        }
        let folder = base.resolvingSymlinksInPath().standardizedFileURL
        let file = folder.appendingPathComponent(location).resolvingSymlinksInPath().standardizedFileURL
        guard file.path.hasPrefix(folder.path + "/") else {
            throw fail("location '\(location)' resolves outside the model's folder (a symbolic link?)")
        }
        guard let offset = Int(entries["offset"] ?? "0"), offset >= 0 else { throw fail("offset '\(entries["offset"] ?? "")' is invalid") }
        let length = entries["length"].flatMap { Int($0) } ?? expected
        guard length == expected else {
            throw fail("length \(length) does not match the declared shape's \(expected) bytes")
        }
        guard let handle = try? FileHandle(forReadingFrom: file) else { throw fail("file '\(location)' cannot be opened") }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()).map { Int($0) } ?? 0
        guard offset <= size, length <= size - offset else {
            throw fail("bytes \(offset)..<\(offset + length) lie past the end of '\(location)' (\(size) bytes)")
        }
        try? handle.seek(toOffset: UInt64(offset))
        guard let data = try? handle.read(upToCount: length), data.count == length else {
            throw fail("'\(location)' could not be read")
        }
        return ByteView(data)
    }
}
