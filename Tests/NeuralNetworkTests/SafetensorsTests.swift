// Safetensors round trips, byte-exact layout, dtype conversion, and a table of hostile files built by hand.
import Foundation
import Testing
@testable import NeuralNetwork

/// A safetensors file assembled byte by byte: length field (or an override), header text, buffer bytes.
func safetensorsBytes(header: String, buffer: [UInt8] = [], length: UInt64? = nil) -> Data {
    let headerBytes = Array(header.utf8)
    var data = Data()
    withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: headerBytes)
    data.append(contentsOf: buffer)
    return data
}

private func f32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

private func entry(_ name: String, _ dtype: String = "F32", shape: String, offsets: String) -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
}

struct SafetensorsRoundTripTests {
    @Test func writeThenReadGivesTheSameTensorsAndMetadata() throws {
        var generator = SeededGenerator(seed: 11)
        let tensors: [String: Tensor] = [
            "conv1.weight": Tensor(shape: [4, 1, 3, 3], scalars: (0..<36).map { _ in generator.nextGaussian() }),
            "bn1.running_var": Tensor(shape: [4], scalars: [1, 2, 3, 4]),
            "fc.bias": Tensor(shape: [3], scalars: [-0.0, .infinity, Float.leastNonzeroMagnitude]),
            "empty": Tensor(shape: [0, 5]),
            "scalar": Tensor(shape: [], scalars: [7]),
            "odd \"name\"\n✓": Tensor(shape: [1], scalars: [2]),
        ]
        let metadata = ["format": "pt", "note": "quotes \" and \\ and ünïcode"]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("weights.safetensors")
        try Safetensors.write(tensors, metadata: metadata, to: url)
        try Safetensors.write(tensors, metadata: metadata, to: url)  // replaces atomically
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["weights.safetensors"])

        let (read, readMetadata) = try Safetensors.read(contentsOf: url)
        #expect(readMetadata == metadata)
        #expect(read.keys.sorted() == tensors.keys.sorted())
        for (name, tensor) in tensors {
            #expect(read[name]!.shape == tensor.shape, "\(name)")
            #expect(read[name]!.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern), "\(name)")
        }
    }

    @Test func layoutIsTheReferenceOne() throws {
        let data = try Safetensors.serialize(
            ["b": Tensor(shape: [2], scalars: [1, 2]), "a": Tensor(shape: [1, 1], scalars: [-1])],
            metadata: ["k": "v"])
        let length = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        #expect((8 + Int(length)) % 8 == 0)
        let header = String(decoding: data[8..<(8 + Int(length))], as: UTF8.self)
        let expected = "{\"__metadata__\":{\"k\":\"v\"}," +
            "\"a\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}," +
            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}"
        #expect(header.trimmingCharacters(in: .whitespaces) == expected)
        #expect(header.hasPrefix(expected) && header.dropFirst(expected.count).allSatisfy { $0 == " " })
        #expect(Array(data.suffix(12)) == f32Bytes([-1, 1, 2]))
    }

    @Test func otherFloatAndIntegerDtypesConvertToFloat() throws {
        // F16: 1.0 = 0x3C00, −2.5 = 0xC100, smallest subnormal 0x0001 = 2⁻²⁴, 65504 = 0x7BFF.
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC1, 0x01, 0x00, 0xFF, 0x7B]
        // BF16: 1.0 = 0x3F80, −0.5 = 0xBF00.
        let bf16: [UInt8] = [0x80, 0x3F, 0x00, 0xBF]
        let f64 = withUnsafeBytes(of: (0.1 as Double).bitPattern.littleEndian) { Array($0) }
        let i64 = withUnsafeBytes(of: Int64(-3).littleEndian) { Array($0) }
        let header = "{" + [
            entry("h", "F16", shape: "[4]", offsets: "[0,8]"),
            entry("b", "BF16", shape: "[2]", offsets: "[8,12]"),
            entry("d", "F64", shape: "[1]", offsets: "[12,20]"),
            entry("n", "I64", shape: "[]", offsets: "[20,28]"),
            entry("z", "F32", shape: "[0]", offsets: "[28,28]"),
        ].joined(separator: ",") + "}   "
        let (tensors, metadata) = try Safetensors.read(data: safetensorsBytes(header: header, buffer: f16 + bf16 + f64 + i64))
        #expect(metadata.isEmpty)
        #expect(tensors["h"]!.scalars == [1, -2.5, Float(sign: .plus, exponent: -24, significand: 1), 65504])
        #expect(tensors["b"]!.scalars == [1, -0.5])
        #expect(tensors["d"]!.scalars == [Float(0.1)])
        #expect(tensors["n"]! == Tensor(shape: [], scalars: [-3]))
        #expect(tensors["z"]! == Tensor(shape: [0]))
    }

    @Test func escapedNamesAndMetadataDecode() throws {
        // \u escapes (including a surrogate pair), \/ and \t in names and metadata, and whitespace between tokens.
        let header = "{ \"__metadata__\" : { \"k\\u00e9y\" : \"a\\/b\\tc\" } , " +
            entry("w\\ud83d\\ude00", shape: "[ 1 ]", offsets: "[ 0 , 4 ]") + " }"
        let (tensors, metadata) = try Safetensors.read(data: safetensorsBytes(header: header, buffer: f32Bytes([5])))
        #expect(metadata == ["kéy": "a/b\tc"])
        #expect(tensors["w😀"]?.scalars == [5])
    }

    @Test func writeRefusesTheReservedNameAndInconsistentTensors() {
        #expect(throws: SafetensorsError(file: "<data>", reason: .reservedName(tensor: "__metadata__"))) {
            try Safetensors.serialize(["__metadata__": Tensor(shape: [1])])
        }
        var broken = Tensor(shape: [2], scalars: [1, 2])
        broken.scalars.append(3)
        #expect(throws: SafetensorsError(file: "<data>", reason: .inconsistentTensor(tensor: "b"))) {
            try Safetensors.serialize(["b": broken])
        }
    }

    @Test func missingFileIsAnIOErrorNamingIt() {
        let url = URL(fileURLWithPath: "/nonexistent/graft/weights.safetensors")
        #expect {
            try Safetensors.read(contentsOf: url)
        } throws: { error in
            guard let error = error as? SafetensorsError, case .io = error.reason else { return false }
            return error.file == url.path && "\(error)".contains(url.path)
        }
    }
}

struct SafetensorsHostileFileTests {
    typealias Reason = SafetensorsError.Reason
    static let four = f32Bytes([1])
    static let eight = f32Bytes([1, 2])
    static let twelve = f32Bytes([1, 2, 3])

    /// (description, file bytes, expected reason)
    static let cases: [(String, Data, Reason)] = [
        ("too short", Data([1, 0, 0, 0]), .fileTooShort(size: 4)),
        ("header above 100 MB", safetensorsBytes(header: "{}", length: 200_000_000),
         .headerTooLarge(length: 200_000_000, limit: 100_000_000)),
        ("header beyond the file", safetensorsBytes(header: "{}", buffer: [0x20], length: 100),
         .headerBeyondFile(length: 100, available: 3)),
        ("huge length field", safetensorsBytes(header: "{}", length: UInt64.max),
         .headerTooLarge(length: UInt64.max, limit: 100_000_000)),
        ("not an object", safetensorsBytes(header: "[1]"), .invalidHeader("the header must start with '{'")),
        ("truncated JSON", safetensorsBytes(header: "{\"a\":"), .invalidHeader("unexpected end of header at byte 5")),
        ("trailing garbage", safetensorsBytes(header: "{} x"), .invalidHeader("unexpected bytes after the JSON value at byte 3")),
        ("invalid UTF-8", safetensorsBytes(header: "{\"\u{FFFD}\":1}").replacing(Data([0xEF, 0xBF, 0xBD]), with: Data([0xFF, 0xFE, 0x20])),
         .invalidHeader("invalid UTF-8 in a string at byte 5")),
        ("duplicate tensor", safetensorsBytes(header: "{" + entry("a", shape: "[1]", offsets: "[0,4]") + "," +
            entry("a", shape: "[1]", offsets: "[4,8]") + "}", buffer: eight), .duplicateName(tensor: "a")),
        ("unknown dtype", safetensorsBytes(header: "{" + entry("w", "F33", shape: "[1]", offsets: "[0,4]") + "}",
            buffer: four), .unknownDtype(tensor: "w", dtype: "F33")),
        ("8-bit float", safetensorsBytes(header: "{" + entry("w", "F8_E4M3", shape: "[4]", offsets: "[0,4]") + "}",
            buffer: four), .unsupportedDtype(tensor: "w", dtype: "F8_E4M3")),
        ("negative extent", safetensorsBytes(header: "{" + entry("w", shape: "[-1]", offsets: "[0,4]") + "}",
            buffer: four), .invalidShape(tensor: "w", shape: "[-1]")),
        ("fractional extent", safetensorsBytes(header: "{" + entry("w", shape: "[1.0]", offsets: "[0,4]") + "}",
            buffer: four), .invalidShape(tensor: "w", shape: "[1.0]")),
        ("absurd extents", safetensorsBytes(header: "{" + entry("w", shape: "[4294967296,4294967296]",
            offsets: "[0,4]") + "}", buffer: four), .invalidShape(tensor: "w", shape: "[4294967296, 4294967296]")),
        ("extent beyond Int", safetensorsBytes(header: "{" + entry("w", shape: "[99999999999999999999]",
            offsets: "[0,4]") + "}", buffer: four), .invalidShape(tensor: "w", shape: "[99999999999999999999]")),
        ("end past the buffer", safetensorsBytes(header: "{" + entry("w", shape: "[2]", offsets: "[0,8]") + "}",
            buffer: four), .offsetsOutOfBounds(tensor: "w", begin: 0, end: 8, bufferSize: 4)),
        ("begin after end", safetensorsBytes(header: "{" + entry("w", shape: "[1]", offsets: "[4,0]") + "}",
            buffer: four), .offsetsOutOfBounds(tensor: "w", begin: 4, end: 0, bufferSize: 4)),
        ("three offsets", safetensorsBytes(header: "{" + entry("w", shape: "[1]", offsets: "[0,4,8]") + "}",
            buffer: four), .invalidEntry(tensor: "w", problem: "'data_offsets' must be two non-negative integers, found [0, 4, 8]")),
        ("overlapping", safetensorsBytes(header: "{" + entry("a", shape: "[2]", offsets: "[0,8]") + "," +
            entry("b", shape: "[2]", offsets: "[4,12]") + "}", buffer: twelve), .overlappingData(tensor: "b", other: "a")),
        ("aliased", safetensorsBytes(header: "{" + entry("a", shape: "[1]", offsets: "[0,4]") + "," +
            entry("b", shape: "[1]", offsets: "[0,4]") + "}", buffer: four), .overlappingData(tensor: "b", other: "a")),
        ("hole", safetensorsBytes(header: "{" + entry("a", shape: "[1]", offsets: "[0,4]") + "," +
            entry("b", shape: "[1]", offsets: "[8,12]") + "}", buffer: twelve),
         .uncoveredData(before: "b", begin: 4, end: 8)),
        ("trailing bytes", safetensorsBytes(header: "{" + entry("a", shape: "[1]", offsets: "[0,4]") + "}",
            buffer: eight), .uncoveredData(before: nil, begin: 4, end: 8)),
        ("size mismatch", safetensorsBytes(header: "{" + entry("a", shape: "[2]", offsets: "[0,4]") + "}",
            buffer: four), .sizeMismatch(tensor: "a", shape: [2], dtype: "F32", expectedBytes: 8, spanBytes: 4)),
        ("metadata value not a string", safetensorsBytes(header: "{\"__metadata__\":{\"epochs\":3}}"),
         .invalidMetadata("value of 'epochs' is 3, not a string")),
        ("metadata not an object", safetensorsBytes(header: "{\"__metadata__\":\"x\"}"), .invalidMetadata("not an object")),
        ("missing offsets", safetensorsBytes(header: "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", buffer: four),
         .invalidEntry(tensor: "w", problem: "missing or non-array 'data_offsets'")),
        ("extra field", safetensorsBytes(header: "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}",
            buffer: four), .invalidEntry(tensor: "w", problem: "unexpected field 'x'")),
        ("entry not an object", safetensorsBytes(header: "{\"w\":[0,4]}", buffer: four),
         .invalidEntry(tensor: "w", problem: "expected an object, found [0, 4]")),
        ("unpaired surrogate", safetensorsBytes(header: "{\"\\ud83d\":1}"), .invalidHeader("unpaired surrogate at byte 8")),
        ("bad escape", safetensorsBytes(header: "{\"\\x\":1}"), .invalidHeader("invalid escape at byte 4")),
        ("control character", safetensorsBytes(header: "{\"a\u{01}\":1}"), .invalidHeader("control character in a string at byte 3")),
        ("leading zero", safetensorsBytes(header: "{" + entry("w", shape: "[01]", offsets: "[0,4]") + "}", buffer: four),
         .invalidHeader("number with a leading zero at byte 31")),
        ("deep nesting", safetensorsBytes(header: "{\"w\":" + String(repeating: "[", count: 40) +
            String(repeating: "]", count: 40) + "}"), .invalidHeader("nesting deeper than 16 levels at byte 21")),
    ]

    @Test(arguments: 0..<cases.count)
    func hostileFileIsRefusedWithItsReason(index: Int) {
        let (label, data, expected) = Self.cases[index]
        do {
            let result = try Safetensors.read(data: data, name: "hostile.safetensors")
            Issue.record("\(label): accepted, read \(result.tensors.keys.sorted())")
        } catch let error as SafetensorsError {
            #expect(error.reason == expected, "\(label)")
            #expect(error.file == "hostile.safetensors")
            #expect("\(error)".hasPrefix("safetensors file hostile.safetensors "))
        } catch {
            Issue.record("\(label): unexpected error \(error)")
        }
    }

    @Test func messagesNameTheTensor() {
        let error = SafetensorsError(file: "m/weights.safetensors",
                                     reason: .sizeMismatch(tensor: "fc.weight", shape: [10, 64], dtype: "F32",
                                                           expectedBytes: 2560, spanBytes: 2556))
        #expect("\(error)".contains("'fc.weight'") && "\(error)".contains("m/weights.safetensors"))
    }

    @Test func everyPrefixOfAValidFileIsRefusedWithoutCrashing() throws {
        let data = try Safetensors.serialize(["a": Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])], metadata: ["k": "v"])
        for length in 0..<data.count {
            #expect(throws: SafetensorsError.self) { try Safetensors.read(data: data.prefix(length)) }
        }
        #expect(try Safetensors.read(data: data).tensors["a"]!.scalars == [1, 2, 3, 4])
    }
}
