// The Open Inference Protocol's (KServe V2) bodies: the infer request with the binary tensor extension, the
// infer response, and errors as `{"error": "..."}`.
import Foundation
import HTTPServer
import Tensors

/// A V2 protocol error: the protocol's own body (`{"error": "<message>"}`, not Graft's error object), so V2
/// clients (tritonclient, KServe's) show the message.
struct V2Error: Error, CustomStringConvertible {
    var status: HTTPStatus
    var message: String
    var headers: HTTPHeaders

    init(status: HTTPStatus, message: String, headers: HTTPHeaders = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    static func badRequest(_ message: String) -> V2Error { V2Error(status: .badRequest, message: message) }
    static func notFound(_ message: String) -> V2Error { V2Error(status: .notFound, message: message) }

    var response: Response {
        var response = Response.json(Data(("{\"error\":" + V2JSON.quote(message) + "}").utf8), status: status)
        for header in headers { response.headers.add(name: header.name, value: header.value) }
        return response
    }

    var description: String { "\(status.code): \(message)" }

    /// The V2 rendering of an error a service call threw: invalid values are 400 (the protocol has no 422), an
    /// unknown model 404, saturation 503 with its Retry-After; anything else keeps its status.
    init(_ error: Error) {
        switch error {
        case let error as V2Error:
            self = error
        case let error as ServiceError:
            switch error {
            case .invalid: self = .badRequest(error.message)
            case .notFound: self = .notFound(error.message)
            default: self = V2Error(status: error.status, message: error.message, headers: error.headers)
            }
        case let error as HTTPResponseError:
            self = V2Error(status: error.status, message: error.message, headers: error.headers)
        default:
            self = V2Error(status: .internalServerError, message: "The server failed to run the request: \(error).")
        }
    }
}

/// The tensor datatypes Graft's V2 models take and give.
enum V2Datatype: String {
    case fp32 = "FP32"
    case bytes = "BYTES"
}

/// One input of an infer request, its data still in JSON or binary form.
struct V2RequestInput {
    var name: String
    var shape: [Int]
    var datatype: String
    /// The JSON `data` (flat or nested), when the input is not in the binary section.
    var data: JSONValue?
    /// The input's bytes in the binary section (`parameters.binary_data_size`).
    var binary: ByteView?

    /// The element count the shape declares.
    var elementCount: Int { shape.reduce(1, *) }

    /// The data as Float32, in row-major order: little-endian floats from the binary section, or the JSON
    /// numbers. Their count must be the shape's.
    func floats() throws(V2Error) -> [Float] {
        let values: [Float]
        if let binary {
            guard binary.count == elementCount * 4 else {
                throw .badRequest("Input '\(name)' has shape \(shape) (\(elementCount) FP32 values, "
                    + "\(elementCount * 4) bytes) but binary_data_size is \(binary.count).")
            }
            do { values = try binary.floats(as: .float32, "input '\(name)'") } catch {
                throw .badRequest("Input '\(name)': \(error)")
            }
        } else {
            var flat: [Float] = []
            flat.reserveCapacity(elementCount)
            try flatten(data, into: &flat)
            values = flat
        }
        guard values.count == elementCount else {
            throw .badRequest("Input '\(name)' has shape \(shape) (\(elementCount) values) but its data holds "
                + "\(values.count).")
        }
        return values
    }

    /// The elements of a BYTES input: length-prefixed (4 bytes, little-endian) in the binary section, or base64
    /// strings in JSON (raw image bytes cannot be JSON text). Their count must be the shape's.
    func byteElements() throws(V2Error) -> [Data] {
        var elements: [Data] = []
        if let binary {
            var reader = ByteReader(binary)
            do {
                while !reader.isAtEnd {
                    let length = try reader.integer(UInt32.self, .littleEndian, "length of element \(elements.count)")
                    elements.append(Data(try reader.bytes(Int(length), "element \(elements.count)").bytes))
                }
            } catch {
                throw .badRequest("Input '\(name)': the binary data is not a sequence of 4-byte little-endian "
                    + "lengths each followed by that many bytes (\(error)).")
            }
        } else {
            var strings: [JSONValue] = []
            collect(data, into: &strings)
            for (index, item) in strings.enumerated() {
                guard case .string(let text) = item, let bytes = Data(base64Encoded: text) else {
                    throw .badRequest("Input '\(name)' element \(index) is not a base64 string; in JSON, send each "
                        + "encoded image as base64 text (or use the binary tensor extension).")
                }
                elements.append(bytes)
            }
        }
        guard elements.count == elementCount else {
            throw .badRequest("Input '\(name)' has shape \(shape) (\(elementCount) elements) but its data holds "
                + "\(elements.count).")
        }
        return elements
    }

    private func flatten(_ value: JSONValue?, into result: inout [Float]) throws(V2Error) {
        switch value {
        case .number(let number)?: result.append(Float(number))
        case .array(let items)?: for item in items { try flatten(item, into: &result) }
        case nil: throw .badRequest("Input '\(name)' has neither data nor parameters.binary_data_size.")
        case let other?:
            throw .badRequest("Input '\(name)' is FP32, but its data holds \(other.kindDescription).")
        }
    }

    private func collect(_ value: JSONValue?, into result: inout [JSONValue]) {
        switch value {
        case .array(let items)?: for item in items { collect(item, into: &result) }
        case let other?: result.append(other)
        case nil: break
        }
    }
}

/// One output an infer request asks for.
struct V2RequestedOutput {
    var name: String
    /// Whether the client wants it in the binary section (`parameters.binary_data`); nil leaves it to the
    /// request's `binary_data_output`.
    var binary: Bool?
    /// Top-k classification as BYTES `"score:index:label"` instead of the tensor (`parameters.classification`).
    var classification: Int?
}

/// An infer request: the JSON header, with the inputs' binary data attached (`Inference-Header-Content-Length`).
struct V2InferenceRequest {
    var id: String?
    var inputs: [V2RequestInput]
    /// Nil when the request names none: then every output is returned.
    var outputs: [V2RequestedOutput]?
    /// The request-wide `parameters.binary_data_output`.
    var binaryOutput: Bool

    /// Parses a body: all JSON, or, with `headerLength` (the `Inference-Header-Content-Length`), that many bytes of
    /// JSON followed by the binary data of the inputs that give `binary_data_size`, in input order.
    init(body: Data, headerLength: Int?) throws(V2Error) {
        let view = ByteView(body)
        let headerEnd = headerLength ?? body.count
        guard headerEnd >= 0, headerEnd <= body.count else {
            throw .badRequest("Inference-Header-Content-Length is \(headerEnd) but the body holds \(body.count) bytes.")
        }
        let header: JSONValue
        do {
            header = try JSONValue.parse(try view.slice(at: 0, count: headerEnd, "header").bytes)
        } catch let error as JSONParseError {
            throw .badRequest("The inference header is not valid JSON: \(error).")
        } catch {
            throw .badRequest("The inference header cannot be read: \(error).")
        }
        guard case .object(let fields) = header else {
            throw .badRequest("The inference header must be a JSON object with \"inputs\".")
        }
        switch fields["id"] {
        case .string(let id)?: self.id = id
        case nil, .null?: self.id = nil
        default: throw .badRequest("\"id\" must be a string.")
        }
        let parameters = try Self.object(fields["parameters"], "parameters")
        binaryOutput = try Self.bool(parameters["binary_data_output"], "parameters.binary_data_output") ?? false
        guard case .array(let inputItems)? = fields["inputs"], !inputItems.isEmpty else {
            throw .badRequest("\"inputs\" must be a non-empty array of tensors.")
        }
        var offset = headerEnd
        inputs = []
        for (index, item) in inputItems.enumerated() {
            let input = try Self.object(item, "inputs[\(index)]")
            guard case .string(let name)? = input["name"] else { throw .badRequest("inputs[\(index)] has no name.") }
            guard case .string(let datatype)? = input["datatype"] else {
                throw .badRequest("Input '\(name)' has no datatype.")
            }
            guard case .array(let dimensions)? = input["shape"] else {
                throw .badRequest("Input '\(name)' has no shape (an array of whole numbers).")
            }
            var shape: [Int] = []
            for dimension in dimensions {
                guard case .number(let number) = dimension, let size = Int(exactly: number), size >= 0,
                      size <= 1 << 30 else {
                    throw .badRequest("Input '\(name)' has shape \(dimensions.map(\.text)); give whole sizes ≥ 0.")
                }
                shape.append(size)
            }
            var tensor = V2RequestInput(name: name, shape: shape, datatype: datatype, data: input["data"])
            let inputParameters = try Self.object(input["parameters"], "input '\(name)' parameters")
            if let size = inputParameters["binary_data_size"] {
                guard case .number(let number) = size, let count = Int(exactly: number), count >= 0 else {
                    throw .badRequest("Input '\(name)': binary_data_size must be a whole number of bytes.")
                }
                guard count <= body.count - offset else {
                    throw .badRequest("Input '\(name)' declares \(count) binary bytes but only \(body.count - offset) "
                        + "remain in the body after the header and the inputs before it.")
                }
                tensor.binary = try? view.slice(at: offset, count: count, "input '\(name)'")
                offset += count
            }
            inputs.append(tensor)
        }
        guard offset == body.count else {
            throw .badRequest("The body has \(body.count - offset) bytes after the header and the inputs' "
                + "binary_data_size bytes; check Inference-Header-Content-Length and binary_data_size.")
        }
        switch fields["outputs"] {
        case nil, .null?: outputs = nil
        case .array(let items)?:
            outputs = try items.enumerated().map { index, item throws(V2Error) in
                let output = try Self.object(item, "outputs[\(index)]")
                guard case .string(let name)? = output["name"] else {
                    throw .badRequest("outputs[\(index)] has no name.")
                }
                let parameters = try Self.object(output["parameters"], "output '\(name)' parameters")
                var classification: Int?
                if let value = parameters["classification"] {
                    guard case .number(let number) = value, let count = Int(exactly: number), count >= 0 else {
                        throw .badRequest("Output '\(name)': classification must be a whole number of classes.")
                    }
                    classification = count == 0 ? nil : count
                }
                return V2RequestedOutput(name: name, binary: try Self.bool(parameters["binary_data"],
                                                                           "output '\(name)' binary_data"),
                                         classification: classification)
            }
        default: throw .badRequest("\"outputs\" must be an array.")
        }
    }

    private static func object(_ value: JSONValue?, _ what: String) throws(V2Error) -> [String: JSONValue] {
        switch value {
        case .object(let fields)?: return fields
        case nil, .null?: return [:]
        default: throw .badRequest("\(what) must be a JSON object.")
        }
    }

    private static func bool(_ value: JSONValue?, _ what: String) throws(V2Error) -> Bool? {
        switch value {
        case .bool(let flag)?: return flag
        case nil, .null?: return nil
        default: throw .badRequest("\(what) must be true or false.")
        }
    }
}

/// One output tensor of an infer response.
struct V2ResponseOutput {
    enum Values {
        case floats([Float])
        case strings([String])
    }

    var name: String
    var shape: [Int]
    var values: Values
    var binary: Bool

    var datatype: V2Datatype {
        if case .strings = values { return .bytes }
        return .fp32
    }

    /// The binary section's form: little-endian floats, or each string's UTF-8 bytes after its 4-byte length.
    var binaryBytes: Data {
        var data = Data()
        switch values {
        case .floats(let floats): data.appendLittleEndian(floats)
        case .strings(let strings):
            for string in strings {
                let bytes = Array(string.utf8)
                data.appendLittleEndian(UInt32(bytes.count))
                data.append(contentsOf: bytes)
            }
        }
        return data
    }
}

/// An infer response, rendered as JSON, or as a JSON header and a binary section when an output asks for it.
struct V2InferenceResponse {
    var modelName: String
    var modelVersion: String
    var id: String?
    var outputs: [V2ResponseOutput]

    var response: Response {
        var binary = Data()
        var header = "{\"model_name\":" + V2JSON.quote(modelName) + ",\"model_version\":" + V2JSON.quote(modelVersion)
        if let id { header += ",\"id\":" + V2JSON.quote(id) }
        header += ",\"outputs\":["
        for (index, output) in outputs.enumerated() {
            if index > 0 { header += "," }
            header += "{\"name\":" + V2JSON.quote(output.name) + ",\"datatype\":\"" + output.datatype.rawValue
                + "\",\"shape\":[" + output.shape.map(String.init).joined(separator: ",") + "]"
            if output.binary {
                let bytes = output.binaryBytes
                header += ",\"parameters\":{\"binary_data_size\":\(bytes.count)}}"
                binary.append(bytes)
            } else {
                header += ",\"data\":["
                switch output.values {
                case .floats(let floats): header += floats.map(V2JSON.number).joined(separator: ",")
                case .strings(let strings): header += strings.map(V2JSON.quote).joined(separator: ",")
                }
                header += "]}"
            }
        }
        header += "]}"
        guard outputs.contains(where: \.binary) else { return Response.json(Data(header.utf8)) }
        let headerBytes = Array(header.utf8)
        var response = Response.bytes(headerBytes + Array(binary), contentType: "application/octet-stream")
        response.headers.add(name: "Inference-Header-Content-Length", value: String(headerBytes.count))
        return response
    }
}

/// Hand-written JSON pieces for V2 bodies: a batch of logits is thousands of numbers, which JSONEncoder renders
/// several times slower.
enum V2JSON {
    static func quote(_ text: String) -> String { JSONString.quote(text) }

    /// A float as the shortest text that reads back to it; JSON has no NaN or infinity, so those are null.
    static func number(_ value: Float) -> String { value.isFinite ? "\(value)" : "null" }
}
