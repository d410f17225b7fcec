// The V2 (Open Inference Protocol) routes through a real server: binary and JSON tensors against an independent
// forward pass and POST /predict, the classification output, errors naming the mismatch, and the token rule.
import FineTuning
import Foundation
import HTTPServer
import ImageData
import NeuralNetwork
import Testing
@testable import GraftService

@Suite(.serialized) struct V2RouteTests {
    /// A raw answer: status, headers (names lowercased) and body bytes.
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        /// The V2 error's message (`{"error": "..."}`), nil when the body is not one.
        var errorMessage: String? { json["error"] as? String }
    }

    /// Sends `body` to `url` with curl (the real socket path) and returns the whole answer.
    static func send(_ method: String, _ url: String, body: Data? = nil, headers: [String: String] = [:],
                     in directory: TemporaryDirectory) throws -> Answer {
        let stamp = UUID().uuidString
        let request = directory.path("request-\(stamp)"), head = directory.path("head-\(stamp)"),
            response = directory.path("response-\(stamp)")
        var arguments = ["-X", method, "-D", head.path, "-o", response.path]
        if let body {
            try body.write(to: request)
            arguments += ["--data-binary", "@" + request.path]
        }
        // curl adds a form Content-Type to --data-binary unless told otherwise; tritonclient sends none.
        arguments += ["-H", "Content-Type:"]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        _ = try LiveServiceTests.curl(arguments + [url])
        let lines = try String(contentsOf: head, encoding: .utf8).split(separator: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: status, headers: fields, body: (try? Data(contentsOf: response)) ?? Data())
    }

    /// A server on an ephemeral port over a harness with the tiny ResNet registered.
    final class LiveV2 {
        let harness: RouteHarness
        let host: ServiceHost
        let images: [URL]
        var base: String { "http://127.0.0.1:\(host.port)" }

        init(apiToken: String? = nil, publicPredict: Bool = false) throws {
            harness = try RouteHarness()
            images = try PredictTests.prepare(harness)
            var http = HTTPServerConfiguration()
            http.port = 0
            http.accessLogLevel = .trace
            host = ServiceHost(service: harness.service, http: http, apiToken: apiToken, publicPredict: publicPredict,
                               logger: ServiceTests.quietLogger())
            try host.server.start()
        }

        deinit { host.server.shutdown(gracePeriod: 1) }

        func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) throws
            -> Answer {
            try V2RouteTests.send(method, base + path, body: body, headers: headers, in: harness.directory)
        }

        func send(json: String, to path: String = "/v2/models/tiny-resnet/infer", headers: [String: String] = [:])
            throws -> Answer {
            try send("POST", path, body: Data(json.utf8), headers: headers)
        }
    }

    /// A JSON header followed by binary data, as the binary tensor extension frames it.
    static func framed(_ header: String, _ binary: Data) -> (Data, [String: String]) {
        (Data(header.utf8) + binary, ["Inference-Header-Content-Length": String(header.utf8.count)])
    }

    static func littleEndian(_ floats: [Float]) -> Data {
        var data = Data()
        for value in floats { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func floats(_ data: Data) -> [Float] {
        stride(from: 0, to: data.count, by: 4).map { offset in
            Float(bitPattern: data[(data.startIndex + offset)..<(data.startIndex + offset + 4)].enumerated()
                .reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
        }
    }

    /// The binary section of an answer, split per output by each output's `binary_data_size`, by name.
    static func binaryOutputs(_ answer: Answer) throws -> (header: [String: Any], outputs: [String: Data]) {
        let length = try #require(Int(answer.headers["inference-header-content-length"] ?? ""))
        let header = try #require(try JSONSerialization.jsonObject(with: answer.body.prefix(length)) as? [String: Any])
        var offset = answer.body.startIndex + length
        var outputs: [String: Data] = [:]
        for output in header["outputs"] as? [[String: Any]] ?? [] {
            guard let size = (output["parameters"] as? [String: Any])?["binary_data_size"] as? Int else { continue }
            outputs[output["name"] as? String ?? ""] = answer.body[offset..<(offset + size)]
            offset += size
        }
        #expect(offset == answer.body.endIndex, "bytes left after the outputs")
        return (header, outputs)
    }

    @Test func binaryFP32BatchMatchesAnIndependentForwardPass() throws {
        let live = try LiveV2()
        var generator = SystemRandomNumberGenerator()
        let batch = (0..<(2 * 28 * 28)).map { _ in Float.random(in: -1.5...1.5, using: &generator) }
        let header = #"{"id":"batch-7","inputs":[{"name":"input","shape":[2,1,28,28],"datatype":"FP32","#
            + #""parameters":{"binary_data_size":\#(batch.count * 4)}}],"#
            + #""outputs":[{"name":"logits","parameters":{"binary_data":true}},{"name":"probabilities"}]}"#
        let (body, headers) = Self.framed(header, Self.littleEndian(batch))
        let answer = try live.send("POST", "/v2/models/tiny-resnet/versions/1/infer", body: body, headers: headers)
        #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
        #expect(answer.headers["content-type"] == "application/octet-stream")
        let (json, binary) = try Self.binaryOutputs(answer)
        #expect(json["id"] as? String == "batch-7" && json["model_name"] as? String == "tiny-resnet")
        let logits = Self.floats(try #require(binary["logits"]))
        // probabilities were not asked in binary: JSON data
        let outputs = try #require(json["outputs"] as? [[String: Any]])
        let probabilities = try #require(outputs.first { $0["name"] as? String == "probabilities" }?["data"]
            as? [Double])
        #expect(outputs.map { $0["shape"] as? [Int] ?? [] } == [[2, 5], [2, 5]])

        let reference = try ModelFolder.load(from: live.harness.service.baseModelsDirectory
            .appendingPathComponent("tiny-resnet"))
        let expected = try reference.graph.forward(Tensor(shape: [2, 1, 28, 28], scalars: batch), mode: .inference)
        #expect(logits.count == 10)
        for (got, want) in zip(logits, expected.scalars) { #expect(abs(got - want) < 1e-4) }
        for row in 0..<2 {
            let softmax = ClassScores.softmax(Array(expected.scalars[(row * 5)..<((row + 1) * 5)]))
            for column in 0..<5 { #expect(abs(probabilities[row * 5 + column] - softmax[column]) < 1e-5) }
        }
    }

    @Test func jsonImagesAgreeWithPredictAndClassify() throws {
        let live = try LiveV2()
        let images = try live.images.prefix(3).map { try Data(contentsOf: $0) }
        let data = images.map { "\"\($0.base64EncodedString())\"" }.joined(separator: ",")
        let answer = try live.send(json: #"{"inputs":[{"name":"image","shape":[3],"datatype":"BYTES","data":[\#(data)]}],"#
            + #""outputs":[{"name":"probabilities","parameters":{"classification":2}},{"name":"logits"}]}"#)
        #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
        #expect(answer.headers["content-type"] == "application/json" && answer.json["id"] == nil)
        let outputs = try #require(answer.json["outputs"] as? [[String: Any]])
        let classes = try #require(outputs[0]["data"] as? [String])
        #expect(outputs[0]["datatype"] as? String == "BYTES" && outputs[0]["shape"] as? [Int] == [3, 2])
        let nested = try live.send(json: #"{"inputs":[{"name":"image","shape":[3,1],"datatype":"BYTES","#
            + #""data":[\#(images.map { "[\"\($0.base64EncodedString())\"]" }.joined(separator: ","))]}],"#
            + #""outputs":[{"name":"logits"}]}"#)
        #expect((nested.json["outputs"] as? [[String: Any]])?.first?["data"] as? [Double]
                    == outputs[1]["data"] as? [Double], "nested data gives other logits")
        for (index, image) in images.enumerated() {
            let predicted = try live.harness.service.predictor.predict(modelID: "tiny-resnet", images: [image], topK: 2)
            for (rank, candidate) in predicted[0].candidates.enumerated() {
                let parts = classes[index * 2 + rank].split(separator: ":", maxSplits: 2)
                #expect(parts.count == 3)
                #expect(String(parts[2]) == candidate.label)
                #expect(PredictTests.labels[Int(parts[1]) ?? -1] == candidate.label)
                #expect(abs((Double(parts[0]) ?? -1) - candidate.probability) < 1e-6)
            }
        }
    }

    /// Each malformed request answers `{"error": "..."}` with its status and a message naming the mismatch.
    @Test(arguments: [
        (#"{"inputs":[{"name":"input","shape":[1,3,28,28],"datatype":"FP32","data":[0]}]}"#, 400, "[1, 3, 28, 28]"),
        (#"{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"INT64","data":[0]}]}"#, 400, "must be FP32"),
        (#"{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[1,2]}]}"#, 400, "holds 2"),
        (#"{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":["a"]}]}"#, 400, "a string"),
        (#"{"inputs":[{"name":"pixels","shape":[1],"datatype":"FP32","data":[0]}]}"#, 400, "no input 'pixels'"),
        (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["!!"]}]}"#, 400, "base64"),
        (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["aGVsbG8="]}]}"#, 400, "image 0"),
        (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["aGVsbG8="]}],"outputs":[{"name":"x"}]}"#,
         400, "no output 'x'"),
        (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["aGVsbG8="]}],"#
            + #""outputs":[{"name":"logits","parameters":{"classification":6}}]}"#, 400, "has 5 classes"),
        (#"{"inputs":[]}"#, 400, "non-empty"),
        (#"{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","#
            + #""parameters":{"binary_data_size":4}}]}"#, 400, "only 0 remain"),
        ("{\"inputs\": [", 400, "not valid JSON"),
    ])
    func mismatchesAreNamed(body: String, status: Int, phrase: String) throws {
        let live = try LiveV2()
        let answer = try live.send(json: body)
        #expect(answer.status == status)
        let message = try #require(answer.errorMessage, "\(String(decoding: answer.body, as: UTF8.self))")
        #expect(message.contains(phrase), "\(message)")
    }

    @Test func framingModelsAndBatchLimitsAreChecked() throws {
        let live = try LiveV2()
        let header = #"{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","#
            + #""parameters":{"binary_data_size":3136}}]}"#
        // one float short, then one byte too many
        var (body, headers) = Self.framed(header, Data(count: 3132))
        var answer = try live.send("POST", "/v2/models/tiny-resnet/infer", body: body, headers: headers)
        #expect(answer.status == 400 && answer.errorMessage?.contains("3136 binary bytes") == true, "\(answer.errorMessage ?? "")")
        (body, headers) = Self.framed(header, Data(count: 3137))
        answer = try live.send("POST", "/v2/models/tiny-resnet/infer", body: body, headers: headers)
        #expect(answer.status == 400 && answer.errorMessage?.contains("1 bytes after") == true)
        answer = try live.send("POST", "/v2/models/tiny-resnet/infer", body: body,
                               headers: ["Inference-Header-Content-Length": "999999"])
        #expect(answer.status == 400 && answer.errorMessage?.contains("Inference-Header-Content-Length") == true)

        answer = try live.send(json: #"{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[0]}]}"#,
                               to: "/v2/models/missing/infer")
        #expect(answer.status == 404 && answer.errorMessage?.contains("'missing'") == true)
        answer = try live.send("GET", "/v2/models/tiny-resnet/versions/2")
        #expect(answer.status == 404 && answer.errorMessage?.contains("version '2'") == true)

        let many = live.harness.service.predictor.maximumBatch + 1
        let zeros = String(repeating: "0,", count: many * 784 - 1) + "0"
        answer = try live.send(json: #"{"inputs":[{"name":"input","shape":[\#(many),1,28,28],"datatype":"FP32","#
            + #""data":[\#(zeros)]}]}"#)
        #expect(answer.status == 400 && answer.errorMessage?.contains("at most \(many - 1)") == true)
    }

    @Test func metadataHealthAndReadiness() throws {
        let live = try LiveV2()
        #expect(try live.send("GET", "/v2").json["name"] as? String == "graft")
        #expect(try live.send("GET", "/v2/health/live").json["live"] as? Bool == true)
        #expect(try live.send("GET", "/v2/health/ready").json["ready"] as? Bool == true)
        let metadata = try live.send("GET", "/v2/models/tiny-resnet").json
        let inputs = try #require(metadata["inputs"] as? [[String: Any]])
        #expect(inputs.map { $0["name"] as? String } == ["input", "image"])
        #expect(inputs[0]["shape"] as? [Int] == [-1, 1, 28, 28])
        #expect((metadata["outputs"] as? [[String: Any]])?.map { $0["shape"] as? [Int] } == [[-1, 5], [-1, 5]])
        #expect(try live.send("GET", "/v2/models/tiny-resnet/versions/1/ready").json["ready"] as? Bool == true)
        #expect(try live.send("GET", "/v2/models/missing/ready").status == 404)
    }

    /// The model routes need the token as /predict does (and are open with --public-predict); probes never do.
    @Test func tokenRulesFollowPredict() throws {
        let body = #"{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[\#(String(repeating: "0,", count: 783))0]}]}"#
        let guarded = try LiveV2(apiToken: "s3cret")
        #expect(try guarded.send(json: body).status == 401)
        #expect(try guarded.send("GET", "/v2/models/tiny-resnet").status == 401)
        #expect(try guarded.send(json: body, headers: ["Authorization": "Bearer s3cret"]).status == 200)
        #expect(try guarded.send("GET", "/v2/health/ready").status == 200)
        #expect(try guarded.send("GET", "/v2").status == 200)
        let open = try LiveV2(apiToken: "s3cret", publicPredict: true)
        #expect(try open.send(json: body).status == 200)
        #expect(try open.send("GET", "/models").status == 401)
    }
}
