/// Reading and writing safetensors files: the published format, validated strictly, Float32 in memory.
import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length
/// N, N bytes of UTF-8 JSON (optionally padded with spaces) mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional `"__metadata__"` map of strings, then
/// the byte buffer, which the offsets (relative to its start) must cover exactly, without holes or overlaps.
/// Data is little-endian and row-major.
///
/// Reading converts F32, F16, BF16 and F64, and the integer and boolean dtypes (exact up to 2²⁴), to Float32.
/// Writing always stores F32, tensors sorted by name, the header padded with spaces to a multiple of 8 bytes.
public enum Safetensors {
    /// The largest header accepted, as in the reference implementation.
    public static let maximumHeaderLength = 100_000_000

    /// Reads every tensor and the `__metadata__` strings of the file at `url`.
    public static func read(contentsOf url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafetensorsError(file: url.path, reason: .io(error.localizedDescription))
        }
        return try read(data: data, name: url.path)
    }

    /// Reads the tensors and metadata of a safetensors file held in memory; `name` appears in errors.
    public static func read(data: Data, name: String = "<data>") throws
        -> (tensors: [String: Tensor], metadata: [String: String]) {
        try Reader(file: name, bytes: ByteView(data)).read()
    }

    /// Writes `tensors` as F32 and `metadata` as `__metadata__` to `url`, atomically, and returns the file's SHA-256
    /// (hex). The bytes are those of `serialize`, streamed a tensor at a time to a temporary file in the same folder
    /// (flushed to disk, then renamed over `url`), so that saving a model holds no second copy of its weights.
    @discardableResult
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws -> String {
        let (header, names) = try layout(tensors, metadata: metadata, name: url.path)
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).partial-\(UUID().uuidString)")
        func failure(_ what: String) -> SafetensorsError {
            SafetensorsError(file: url.path, reason: .io("\(what): \(String(cString: strerror(errno)))"))
        }
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("cannot create \(temporary.path)") }
        var closed = false
        defer {
            if !closed { close(descriptor) }
            unlink(temporary.path)
        }
        var hasher = SHA256()
        func put(_ bytes: UnsafeRawBufferPointer) throws {
            // hashed in slices: SHA256.update copies what it is given
            var offset = 0
            while offset < bytes.count {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(offset + (1 << 20), bytes.count)])
                hasher.update(slice)
                var written = 0
                while written < slice.count {
                    let result = Glibc.write(descriptor, slice.baseAddress! + written, slice.count - written)
                    if result < 0 && errno == EINTR { continue }
                    guard result > 0 else { throw failure("cannot write \(temporary.path)") }
                    written += result
                }
                offset += slice.count
            }
        }
        var prefix = Data()
        prefix.appendLittleEndian(UInt64(header.count))
        prefix.append(contentsOf: header)
        try prefix.withUnsafeBytes { try put($0) }
        for name in names {
            #if _endian(little)
            try tensors[name]!.scalars.withUnsafeBytes { try put($0) }
            #else
            var swapped = Data()
            swapped.appendLittleEndian(tensors[name]!.scalars)
            try swapped.withUnsafeBytes { try put($0) }
            #endif
        }
        guard fsync(descriptor) == 0 else { throw failure("cannot flush \(temporary.path)") }
        closed = true
        guard close(descriptor) == 0 else { throw failure("cannot close \(temporary.path)") }
        guard rename(temporary.path, url.path) == 0 else { throw failure("cannot move \(temporary.path) to \(url.path)") }
        return hasher.finalizeHex()
    }

    /// Writes bytes made by `serialize` atomically; errors name the file.
    public static func write(serialized data: Data, to url: URL) throws {
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw SafetensorsError(file: url.path, reason: .io(error.localizedDescription))
        }
    }

    /// The bytes `write` stores.
    public static func serialize(_ tensors: [String: Tensor], metadata: [String: String] = [:],
                                 name: String = "<data>") throws -> Data {
        let (header, names) = try layout(tensors, metadata: metadata, name: name)
        var data = Data(capacity: 8 + header.count + names.reduce(0) { $0 + 4 * tensors[$1]!.count })
        data.appendLittleEndian(UInt64(header.count))
        data.append(contentsOf: header)
        for tensorName in names { data.appendLittleEndian(tensors[tensorName]!.scalars) }
        return data
    }

    /// The JSON header (padded so that the buffer starts 8-byte aligned, as the reference writer does) and the
    /// order in which the tensors' bytes follow it.
    static func layout(_ tensors: [String: Tensor], metadata: [String: String], name: String) throws
        -> (header: [UInt8], names: [String]) {
        let names = tensors.keys.sorted()
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { HeaderJSON.quoted($0) + ":" + HeaderJSON.quoted(metadata[$0]!) }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for tensorName in names {
            let tensor = tensors[tensorName]!
            guard tensorName != "__metadata__" else {
                throw SafetensorsError(file: name, reason: .reservedName(tensor: tensorName))
            }
            guard tensor.scalars.count == tensor.shape.reduce(1, *) else {
                throw SafetensorsError(file: name, reason: .inconsistentTensor(tensor: tensorName))
            }
            let end = offset + 4 * tensor.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append(HeaderJSON.quoted(tensorName) +
                ":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        return (header, names)
    }
}

// MARK: - Reading

/// The element types of the format and their sizes in bytes.
enum SafetensorsDtype: String, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    /// How the elements are stored, for the dtypes that convert to Float32 (nil for the 8-bit floats).
    var encoding: ScalarEncoding? {
        switch self {
        case .bool: return .bool
        case .u8: return .uint8
        case .i8: return .int8
        case .i16: return .int16
        case .u16: return .uint16
        case .f16: return .float16
        case .bf16: return .bfloat16
        case .i32: return .int32
        case .u32: return .uint32
        case .f32: return .float32
        case .f64: return .float64
        case .i64: return .int64
        case .u64: return .uint64
        case .f8e5m2, .f8e4m3: return nil
        }
    }

    var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }
}

/// One validated header entry.
private struct Entry {
    let name: String
    let dtype: SafetensorsDtype
    let shape: [Int]
    let begin: Int
    let end: Int
}

private struct Reader {
    let file: String
    let bytes: ByteView

    func fail(_ reason: SafetensorsError.Reason) -> SafetensorsError { SafetensorsError(file: file, reason: reason) }

    /// A read the checks before it made safe, should it fail all the same: the reader's words, in this file's error.
    func fail(_ error: ByteReadError) -> SafetensorsError { fail(.invalidHeader(error.description)) }

    func read() throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard bytes.count >= 8 else { throw fail(.fileTooShort(size: bytes.count)) }
        let length: UInt64
        do { length = try bytes.integer(UInt64.self, at: 0, .littleEndian, "the header length") } catch { throw fail(error) }
        guard length <= UInt64(Safetensors.maximumHeaderLength) else {
            throw fail(.headerTooLarge(length: length, limit: Safetensors.maximumHeaderLength))
        }
        guard length <= UInt64(bytes.count - 8) else {
            throw fail(.headerBeyondFile(length: length, available: bytes.count - 8))
        }
        let headerEnd = 8 + Int(length)
        let headerBytes: ByteView, buffer: ByteView
        do {
            headerBytes = try bytes.slice(8..<headerEnd, "the header")
            buffer = try bytes.slice(from: headerEnd, "the byte buffer")
        } catch { throw fail(error) }
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail(.invalidHeader("the header must start with '{'"))
        }
        let json: HeaderJSON
        do {
            json = try HeaderJSON.parse(headerBytes)
        } catch let error as HeaderJSON.ParseError {
            throw fail(.invalidHeader(error.message))
        }
        guard case let .object(members) = json else { throw fail(.invalidHeader("the header is not an object")) }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        var seen = Set<String>()
        for (name, value) in members {
            guard seen.insert(name).inserted else {
                throw fail(name == "__metadata__" ? .invalidMetadata("given twice") : .duplicateName(tensor: name))
            }
            if name == "__metadata__" {
                metadata = try readMetadata(value)
            } else {
                entries.append(try readEntry(name: name, value: value, bufferSize: buffer.count))
            }
        }
        try checkCoverage(entries, bufferSize: buffer.count)

        var tensors: [String: Tensor] = [:]
        for entry in entries {
            let span: ByteView
            do { span = try buffer.slice(entry.begin..<entry.end, "tensor '\(entry.name)'") } catch { throw fail(error) }
            tensors[entry.name] = Tensor(shape: entry.shape, scalars: try convert(span, entry))
        }
        return (tensors, metadata)
    }

    func readMetadata(_ value: HeaderJSON) throws -> [String: String] {
        guard case let .object(pairs) = value else { throw fail(.invalidMetadata("not an object")) }
        var result: [String: String] = [:]
        for (key, item) in pairs {
            guard case let .string(text) = item else {
                throw fail(.invalidMetadata("value of '\(key)' is \(item.summary), not a string"))
            }
            guard result.updateValue(text, forKey: key) == nil else {
                throw fail(.invalidMetadata("key '\(key)' given twice"))
            }
        }
        return result
    }

    func readEntry(name: String, value: HeaderJSON, bufferSize: Int) throws -> Entry {
        guard case let .object(fields) = value else {
            throw fail(.invalidEntry(tensor: name, problem: "expected an object, found \(value.summary)"))
        }
        var dtypeValue: HeaderJSON?, shapeValue: HeaderJSON?, offsetsValue: HeaderJSON?
        for (key, field) in fields {
            switch key {
            case "dtype" where dtypeValue == nil: dtypeValue = field
            case "shape" where shapeValue == nil: shapeValue = field
            case "data_offsets" where offsetsValue == nil: offsetsValue = field
            case "dtype", "shape", "data_offsets":
                throw fail(.invalidEntry(tensor: name, problem: "field '\(key)' given twice"))
            default:
                throw fail(.invalidEntry(tensor: name, problem: "unexpected field '\(key)'"))
            }
        }
        guard case let .string(dtypeName)? = dtypeValue else {
            throw fail(.invalidEntry(tensor: name, problem: "missing or non-string 'dtype'"))
        }
        guard case let .array(shapeItems)? = shapeValue else {
            throw fail(.invalidEntry(tensor: name, problem: "missing or non-array 'shape'"))
        }
        guard case let .array(offsetItems)? = offsetsValue else {
            throw fail(.invalidEntry(tensor: name, problem: "missing or non-array 'data_offsets'"))
        }
        guard let dtype = SafetensorsDtype(rawValue: dtypeName) else {
            throw fail(.unknownDtype(tensor: name, dtype: dtypeName))
        }
        guard dtype != .f8e4m3 && dtype != .f8e5m2 else { throw fail(.unsupportedDtype(tensor: name, dtype: dtypeName)) }

        let shapeText = "[" + shapeItems.map(\.summary).joined(separator: ", ") + "]"
        var shape: [Int] = []
        var elementCount = 1
        for item in shapeItems {
            guard let extent = item.nonNegativeInteger else { throw fail(.invalidShape(tensor: name, shape: shapeText)) }
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: extent)
            // No real tensor has more elements than 2⁴⁸; bigger products are hostile (and could overflow bytes).
            guard !overflow, product < 1 << 48 else { throw fail(.invalidShape(tensor: name, shape: shapeText)) }
            elementCount = product
            shape.append(extent)
        }

        guard offsetItems.count == 2, let begin = offsetItems[0].nonNegativeInteger,
              let end = offsetItems[1].nonNegativeInteger else {
            let found = "[" + offsetItems.map(\.summary).joined(separator: ", ") + "]"
            throw fail(.invalidEntry(tensor: name, problem: "'data_offsets' must be two non-negative integers, found \(found)"))
        }
        guard begin <= end, end <= bufferSize else {
            throw fail(.offsetsOutOfBounds(tensor: name, begin: begin, end: end, bufferSize: bufferSize))
        }
        let expectedBytes = elementCount * dtype.size
        guard expectedBytes == end - begin else {
            throw fail(.sizeMismatch(tensor: name, shape: shape, dtype: dtypeName, expectedBytes: expectedBytes,
                                     spanBytes: end - begin))
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// The spans, in offset order, must tile the buffer: each begins where the previous ended.
    func checkCoverage(_ entries: [Entry], bufferSize: Int) throws {
        let ordered = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        var previous: String?
        for entry in ordered {
            if entry.begin < position, let previous {
                throw fail(.overlappingData(tensor: entry.name, other: previous))
            }
            if entry.begin > position {
                throw fail(.uncoveredData(before: entry.name, begin: position, end: entry.begin))
            }
            position = entry.end
            if entry.end > entry.begin { previous = entry.name }
        }
        if position < bufferSize { throw fail(.uncoveredData(before: nil, begin: position, end: bufferSize)) }
    }

    /// The span's elements as Float32 (little-endian in the file); BOOL bytes must be 0 or 1.
    func convert(_ span: ByteView, _ entry: Entry) throws -> [Float] {
        guard let encoding = entry.dtype.encoding else {
            throw fail(.unsupportedDtype(tensor: entry.name, dtype: entry.dtype.rawValue))
        }
        if entry.dtype == .bool, let index = span.firstIndex(where: { $0 > 1 }) {
            throw fail(.invalidEntry(tensor: entry.name, problem: "BOOL element \(index) is \(span[index])"))
        }
        do {
            return try span.floats(as: encoding, "tensor '\(entry.name)'")
        } catch {
            throw fail(.invalidEntry(tensor: entry.name, problem: error.description))
        }
    }
}
