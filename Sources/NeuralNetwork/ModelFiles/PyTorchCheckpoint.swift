/// Reading PyTorch state dicts (`torch.save` files, legacy and zip formats) into Float32 tensors without Python.
import Foundation
import Tensors

/// A PyTorch state dict saved by `torch.save`, in either serialization:
/// - the zip format (torch ≥ 1.6's default): a zip archive of stored entries `<prefix>/data.pkl` (the state
///   dict pickle) and `<prefix>/data/<key>` (each storage's raw little-endian bytes);
/// - the legacy format (`_use_new_zipfile_serialization=False`): five consecutive pickles — the magic number
///   0x1950a86a20f9469cfc6c, the protocol version 1001, the system info dict, the state dict, the list of
///   storage keys — then, for each key in that order, an 8-byte little-endian element count and the raw bytes.
///
/// The state dict pickle is read by a restricted unpickler (`RestrictedUnpickler`) that allows only
/// `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and the
/// `torch.*Storage` types, and interprets them instead of calling anything. Tensor views are honoured through
/// their storage offset and strides (non-contiguous tensors are gathered into row-major order).
///
/// Every tensor becomes Float32: F16, BF16 and F64 are converted; integer and boolean storages (such as
/// BatchNorm's int64 `num_batches_tracked`) are converted too, exactly while |value| ≤ 2²⁴. Importers that
/// have no use for `num_batches_tracked` simply ignore the key. A view with more elements than its storage
/// (a zero stride, as `Tensor.expand` makes) is refused; save such tensors `.contiguous()`.
public enum PyTorchCheckpoint {
    /// The most elements one tensor or storage may hold (2³¹), far above any real layer.
    public static let maximumElements = 1 << 31

    /// The tensors of the state dict at `url`, by name.
    public static func read(contentsOf url: URL) throws -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: try readOrdered(contentsOf: url))
    }

    /// The tensors of the state dict at `url`, in the order the file stores them.
    public static func readOrdered(contentsOf url: URL) throws -> [(name: String, tensor: Tensor)] {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw PyTorchCheckpointError(file: url.path, reason: .io(error.localizedDescription))
        }
        return try readOrdered(data: data, name: url.path)
    }

    /// The tensors of a checkpoint held in memory, in file order; `name` appears in errors.
    public static func readOrdered(data: Data, name: String = "<data>") throws -> [(name: String, tensor: Tensor)] {
        let bytes = ByteView(data)
        let fail = { (reason: PyTorchCheckpointError.Reason) in PyTorchCheckpointError(file: name, reason: reason) }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return try readZip(bytes, fail: fail) }
        return try readLegacy(bytes, fail: fail)
    }

    /// The tensors of a checkpoint held in memory, by name.
    public static func read(data: Data, name: String = "<data>") throws -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: try readOrdered(data: data, name: name))
    }

    // MARK: - Formats

    /// The bytes of legacy format's first pickle: PROTO 2, LONG1 of 10 bytes holding the magic number, STOP.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8,
                                       0x50, 0x19, 0x2E]

    private static func readLegacy(_ bytes: ByteView,
                                   fail: @escaping (PyTorchCheckpointError.Reason) -> PyTorchCheckpointError) throws
        -> [(name: String, tensor: Tensor)] {
        guard bytes.starts(with: legacyMagic) else {
            throw fail(.unrecognizedFormat)
        }
        var unpickler = RestrictedUnpickler(bytes: bytes, start: legacyMagic.count, fail: fail)
        guard case .int(1001) = try unpickler.load() else {
            throw fail(.invalidPickle("the protocol version is not 1001"))
        }
        guard case let .dict(info) = try unpickler.load() else {
            throw fail(.invalidPickle("the system info is not a dict"))
        }
        for (key, value) in zip(info.keys, info.values) {
            if case .string("little_endian") = key, case .bool(false) = value {
                throw fail(.invalidPickle("the checkpoint was saved big-endian, which is not supported"))
            }
        }
        let root = try unpickler.load()
        guard case let .list(keyList) = try unpickler.load() else {
            throw fail(.invalidPickle("the storage key list is not a list"))
        }
        var storages: [String: ByteView] = [:]
        var reader = ByteReader(bytes, offset: unpickler.position)
        let sizes = elementSizes(in: root)
        for item in keyList.items {
            guard case let .string(key) = item else { throw fail(.invalidPickle("a storage key is not a string")) }
            let count: UInt64
            do { count = try reader.integer(UInt64.self, .littleEndian, "an element count") } catch {
                throw fail(.truncated("storage '\(key)' has no element count"))
            }
            let size = sizes[key] ?? 1
            guard count <= UInt64(maximumElements) else {
                throw fail(.limitExceeded("storage '\(key)' declares \(count) elements"))
            }
            let length = Int(count) * size
            guard length <= reader.remaining else {
                throw fail(.truncated("storage '\(key)' needs \(length) bytes, \(reader.remaining) remain"))
            }
            guard storages[key] == nil else { throw fail(.invalidPickle("storage '\(key)' is listed twice")) }
            do { storages[key] = try reader.bytes(length, "storage '\(key)'") } catch {
                throw fail(.truncated(error.description))
            }
        }
        return try materialise(root, storages: storages, fail: fail)
    }

    private static func readZip(_ bytes: ByteView,
                                fail: @escaping (PyTorchCheckpointError.Reason) -> PyTorchCheckpointError) throws
        -> [(name: String, tensor: Tensor)] {
        let archive = try StoredZip(bytes: bytes, fail: fail)
        let pickles = archive.names.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }
        guard pickles.count == 1, let pickle = archive.entries[pickles[0]] else {
            throw fail(.invalidArchive("expected exactly one '<prefix>/data.pkl' entry, found \(pickles.count)"))
        }
        // StoredZip checked every range against the file; a failure here would be the archive's fault all the same.
        func member(_ entry: StoredZip.Entry) throws -> ByteView {
            do { return try bytes.slice(entry.range, "entry '\(entry.name)'") } catch {
                throw fail(.truncated(error.description))
            }
        }
        let prefix = String(pickles[0].dropLast("data.pkl".count))
        if let order = archive.entries[prefix + "byteorder"] {
            let text = try member(order).lossyString
            guard text == "little" else { throw fail(.invalidArchive("byte order '\(text)' is not supported")) }
        }
        // Copied: the unpickler walks it byte by byte, which is slow over `Data` (see `ByteView.copied`).
        var unpickler = RestrictedUnpickler(bytes: try member(pickle).copied(), fail: fail)
        let root = try unpickler.load()
        var storages: [String: ByteView] = [:]
        let dataPrefix = prefix + "data/"
        for entryName in archive.names where entryName.hasPrefix(dataPrefix) {
            storages[String(entryName.dropFirst(dataPrefix.count))] = try member(archive.entries[entryName]!)
        }
        return try materialise(root, storages: storages, fail: fail)
    }

    // MARK: - Tensors

    private static func elementSize(ofType type: String) -> Int { encoding(ofType: type).byteCount }

    /// The element size of each storage as the state dict's tensors name it (a storage no tensor uses is
    /// absent and read as bytes).
    private static func elementSizes(in root: PickleValue) -> [String: Int] {
        guard case let .dict(dict) = root else { return [:] }
        var sizes: [String: Int] = [:]
        for value in dict.values {
            if case let .tensor(stored) = value { sizes[stored.storageKey] = elementSize(ofType: stored.storageType) }
        }
        return sizes
    }

    private static func materialise(_ root: PickleValue, storages: [String: ByteView],
                                    fail: (PyTorchCheckpointError.Reason) -> PyTorchCheckpointError) throws
        -> [(name: String, tensor: Tensor)] {
        guard case let .dict(dict) = root else { throw fail(.invalidPickle("the top-level object is not a dict")) }
        var result: [(name: String, tensor: Tensor)] = []
        var seen: Set<String> = []
        for (key, value) in zip(dict.keys, dict.values) {
            guard case let .string(name) = key else { throw fail(.invalidPickle("a state-dict key is not a string")) }
            guard case let .tensor(stored) = value else {
                throw fail(.invalidPickle("state-dict entry '\(name)' is not a tensor"))
            }
            guard seen.insert(name).inserted else { throw fail(.invalidPickle("'\(name)' appears twice")) }
            guard let storage = storages[stored.storageKey] else {
                throw fail(.invalidStorage(tensor: name, problem: "storage '\(stored.storageKey)' is missing"))
            }
            result.append((name, try tensor(name, stored, storage, fail: fail)))
        }
        return result
    }

    private static func tensor(_ name: String, _ stored: StoredTensor, _ storage: ByteView,
                               fail: (PyTorchCheckpointError.Reason) -> PyTorchCheckpointError) throws -> Tensor {
        let size = stored.size, stride = stored.stride
        guard size.count == stride.count, size.count <= 16 else {
            throw fail(.invalidShape(tensor: name, problem: "\(size.count) sizes but \(stride.count) strides"))
        }
        guard size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }), stored.offset >= 0 else {
            throw fail(.invalidShape(tensor: name, problem: "negative size \(size), stride \(stride) or offset"))
        }
        var count = 1
        for extent in size {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= maximumElements else {
                throw fail(.invalidShape(tensor: name, problem: "size \(size) has more than \(maximumElements) elements"))
            }
            count = product
        }
        let elementBytes = elementSize(ofType: stored.storageType)
        let available = storage.count / elementBytes
        guard storage.count % elementBytes == 0 else {
            throw fail(.invalidStorage(tensor: name, problem: "\(storage.count) bytes is not a whole number of elements"))
        }
        // A view with more elements than its storage repeats elements (a zero stride, as `expand` makes); state
        // dicts hold no such views, and refusing them bounds the memory a hostile file can claim by its size.
        guard count <= available else {
            throw fail(.invalidStorage(tensor: name, problem: "size \(size) has \(count) elements but the storage " +
                "only \(available)"))
        }
        guard count > 0 else { return Tensor(shape: size, scalars: []) }
        // The furthest element the view reaches: offset + Σ (sizeᵢ − 1)·strideᵢ, checked for overflow.
        var last = stored.offset
        for (extent, step) in zip(size, stride) {
            let (reach, overflowA) = (extent - 1).multipliedReportingOverflow(by: step)
            let (sum, overflowB) = last.addingReportingOverflow(reach)
            guard !overflowA, !overflowB else {
                throw fail(.invalidShape(tensor: name, problem: "stride \(stride) overflows"))
            }
            last = sum
        }
        guard last < available else {
            throw fail(.invalidStorage(tensor: name, problem: "offset \(stored.offset), size \(size), stride " +
                "\(stride) reach element \(last) of a \(available)-element storage"))
        }

        let storageEncoding = encoding(ofType: stored.storageType)
        func failed(_ error: ByteReadError) -> PyTorchCheckpointError {
            fail(.invalidStorage(tensor: name, problem: error.description))
        }
        // The elements from the view's first to its last, converted in bulk: for a row-major view that is the
        // tensor itself; for a permuted one (a transpose saved without .contiguous(), as some published weights
        // are) it is the same elements in another order, gathered below. A sparse view (a column of a large
        // matrix) reads its elements one by one instead, so that it never converts more than 4× its size.
        let spanCount = last - stored.offset + 1
        var run: [Float] = []
        if spanCount <= 4 * count {
            do {
                run = try storage.slice(at: stored.offset * elementBytes, count: spanCount * elementBytes, "the view")
                    .floats(as: storageEncoding, "the view")
            } catch {
                throw failed(error)
            }
            if spanCount == count && isRowMajor(size: size, stride: stride) { return Tensor(shape: size, scalars: run) }
        }
        var scalars = [Float](repeating: 0, count: count)
        // Walk the row-major index (i₀, …, iₙ₋₁) with an odometer, tracking the storage position.
        var index = [Int](repeating: 0, count: size.count)
        var source = stored.offset
        for target in 0..<count {
            if run.isEmpty {
                do { scalars[target] = try storage.float(at: source, as: storageEncoding, "an element") } catch {
                    throw failed(error)
                }
            } else {
                scalars[target] = run[source - stored.offset]
            }
            var axis = size.count - 1
            while axis >= 0 {
                index[axis] += 1
                source += stride[axis]
                if index[axis] < size[axis] { break }
                source -= stride[axis] * size[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return Tensor(shape: size, scalars: scalars)
    }

    /// Whether a view of `size` with `stride` (every extent at least 1) is its storage's elements in order;
    /// axes of extent 1 may have any stride, as torch leaves them.
    private static func isRowMajor(size: [Int], stride: [Int]) -> Bool {
        var expected = 1
        for axis in size.indices.reversed() where size[axis] != 1 {
            guard stride[axis] == expected else { return false }
            expected *= size[axis]
        }
        return true
    }

    /// How a torch storage type stores its elements (little-endian).
    private static func encoding(ofType type: String) -> ScalarEncoding {
        switch type {
        case "torch.FloatStorage": return .float32
        case "torch.DoubleStorage": return .float64
        case "torch.HalfStorage": return .float16
        case "torch.BFloat16Storage": return .bfloat16
        case "torch.LongStorage": return .int64
        case "torch.IntStorage": return .int32
        case "torch.ShortStorage": return .int16
        case "torch.CharStorage": return .int8
        case "torch.BoolStorage": return .bool
        default: return .uint8
        }
    }

    /// IEEE 754 binary16 → binary32, exact (subnormals, ±∞ and NaN payloads included).
    static func floatFromHalf(_ bits: UInt16) -> Float { Float(float16Bits: bits) }
}
