/// Splitting an ONNX file's protobuf at its initializers without holding the file whole: the graph's other fields
/// are decoded by swift-protobuf as usual, while each initializer is read, converted to floats and released in
/// turn — so an import peaks near the size of the weights, not twice or thrice the file.
import Foundation
import SwiftProtobuf

/// Bytes by range, from memory or from a file read piece by piece.
protocol ONNXByteSource {
    var count: Int { get }
    func bytes(_ range: Range<Int>) throws -> Data
}

struct ONNXDataSource: ONNXByteSource {
    let data: Data
    var count: Int { data.count }
    func bytes(_ range: Range<Int>) throws -> Data {
        Data(data[(data.startIndex + range.lowerBound)..<(data.startIndex + range.upperBound)])
    }
}

/// A file read with positioned reads (no mapping: pages the import has passed do not stay resident).
final class ONNXFileSource: ONNXByteSource {
    let handle: FileHandle
    let count: Int

    init(url: URL) throws {
        handle = try FileHandle(forReadingFrom: url)
        count = Int(try handle.seekToEnd())
    }

    deinit { try? handle.close() }

    func bytes(_ range: Range<Int>) throws -> Data {
        try handle.seek(toOffset: UInt64(range.lowerBound))
        let data = try handle.read(upToCount: range.count) ?? Data()
        guard data.count == range.count else { throw ONNXStreamError.truncated("the file ends at byte \(range.lowerBound + data.count)") }
        return data
    }
}

enum ONNXStreamError: Error {
    case truncated(String)
    case malformed(String)
}

/// One protobuf field: its number, wire type, where its payload lies, and where the whole field (tag included) lies.
struct ProtobufField {
    var number: Int
    var wireType: Int
    var payload: Range<Int>
    var whole: Range<Int>
}

enum ProtobufSkimmer {
    /// The fields of the message occupying `range` of `source`, read tag by tag (payloads are not read).
    static func fields(in range: Range<Int>, of source: ONNXByteSource) throws -> [ProtobufField] {
        var fields: [ProtobufField] = []
        var offset = range.lowerBound
        while offset < range.upperBound {
            let start = offset
            let window = try source.bytes(offset..<min(range.upperBound, offset + 20))
            var cursor = window.startIndex
            func varint() throws -> UInt64 {
                var value: UInt64 = 0, shift: UInt64 = 0
                while true {
                    guard cursor < window.endIndex else {
                        throw window.count < 20 ? ONNXStreamError.truncated("a field header is cut at byte \(start)")
                            : ONNXStreamError.malformed("a varint at byte \(start) is longer than 10 bytes")
                    }
                    let byte = window[cursor]
                    cursor += 1
                    guard shift < 64 else { throw ONNXStreamError.malformed("a varint at byte \(start) overflows") }
                    value |= UInt64(byte & 0x7F) << shift
                    if byte & 0x80 == 0 { return value }
                    shift += 7
                }
            }
            let tag = try varint()
            let number = Int(tag >> 3), wireType = Int(tag & 7)
            guard number > 0 else { throw ONNXStreamError.malformed("field number 0 at byte \(start)") }
            var payloadStart = offset + (cursor - window.startIndex)
            let payloadEnd: Int
            switch wireType {
            case 0:
                _ = try varint()
                payloadEnd = offset + (cursor - window.startIndex)
            case 1: payloadEnd = payloadStart + 8
            case 5: payloadEnd = payloadStart + 4
            case 2:
                let length = try varint()
                payloadStart = offset + (cursor - window.startIndex)
                guard length <= UInt64(range.upperBound - payloadStart) else {
                    throw ONNXStreamError.truncated("field \(number) at byte \(start) declares \(length) bytes past the end of its message")
                }
                payloadEnd = payloadStart + Int(length)
            default:
                throw ONNXStreamError.malformed("wire type \(wireType) of field \(number) at byte \(start)")
            }
            guard payloadEnd <= range.upperBound else {
                throw ONNXStreamError.truncated("field \(number) at byte \(start) runs past the end of its message")
            }
            fields.append(ProtobufField(number: number, wireType: wireType, payload: payloadStart..<payloadEnd,
                                        whole: start..<payloadEnd))
            offset = payloadEnd
        }
        return fields
    }

    /// The listed fields' bytes, concatenated: protobuf merges them into the same message as the original.
    static func concatenate(_ fields: [ProtobufField], of source: ONNXByteSource) throws -> Data {
        var data = Data()
        for field in fields { data.append(try source.bytes(field.whole)) }
        return data
    }
}

extension ONNXFile {
    /// ModelProto.graph is field 7; GraphProto.initializer is field 5.
    static let graphField = 7, initializerField = 5

    /// Decodes everything but the initializers, and hands each initializer to `take` as soon as it is read.
    static func decode(_ source: ONNXByteSource, options: BinaryDecodingOptions,
                       take: (Onnx_TensorProto) throws -> Void) throws -> Onnx_ModelProto {
        let top = try ProtobufSkimmer.fields(in: 0..<source.count, of: source)
        let graphs = top.filter { $0.number == graphField && $0.wireType == 2 }
        var model = try Onnx_ModelProto(
            serializedBytes: try ProtobufSkimmer.concatenate(top.filter { $0.number != graphField }, of: source), options: options)
        var graphRest: [ProtobufField] = []
        for graph in graphs {
            for field in try ProtobufSkimmer.fields(in: graph.payload, of: source) {
                guard field.number == initializerField, field.wireType == 2 else { graphRest.append(field); continue }
                try take(try Onnx_TensorProto(serializedBytes: try source.bytes(field.payload), options: options))
            }
        }
        if !graphs.isEmpty {
            model.graph = try Onnx_GraphProto(serializedBytes: try ProtobufSkimmer.concatenate(graphRest, of: source),
                                              options: options)
        }
        return model
    }
}
