// The Open Inference Protocol (KServe V2 REST, as Triton and OpenVINO Model Server speak it) beside /predict:
// server and model metadata, health, readiness, and infer through the same Predictor path.
import Foundation
import FineTuning
import HTTPServer
import Tensors

extension ServiceRoutes {
    /// The only version a Graft model has: a fine-tuned model is a model of its own, with its own name.
    static let v2ModelVersion = "1"
    /// The V2 names of a model's inputs: the preprocessed batch, or encoded images.
    static let v2TensorInput = "input"
    static let v2ImageInput = "image"
    /// The V2 names of a model's outputs.
    static let v2Outputs = ["logits", "probabilities"]

    /// The V2 routes that answer probes and describe the server: public, as `/health` is.
    static let v2PublicPatterns: Set<String> = ["/v2", "/v2/health/live", "/v2/health/ready"]

    /// Whether `route` is a V2 model route (metadata, readiness, infer): guarded as `POST /predict` is.
    static func isV2ModelRoute(_ route: Router.Route) -> Bool { route.pattern.hasPrefix("/v2/models/") }

    func registerV2Routes(on router: Router) {
        router.get("/v2") { _ in
            Self.v2Answer {
                Response.json(Data(#"{"name":"graft","version":"0.1.0","extensions":["binary_tensor_data","classification"]}"#.utf8))
            }
        }
        router.get("/v2/health/live") { _ in Response.json(Data(#"{"live":true}"#.utf8)) }
        router.get("/v2/health/ready") { _ in
            service.store.isReachable() ? Response.json(Data(#"{"ready":true}"#.utf8))
                : Response.json(Data(#"{"ready":false}"#.utf8), status: .serviceUnavailable)
        }
        let maxBody = service.configuration.v2MaxBodyBytes
        for prefix in ["/v2/models/:name", "/v2/models/:name/versions/:version"] {
            router.get(prefix) { request in Self.v2Answer { try v2ModelMetadata(request) } }
            router.get(prefix + "/ready") { request in Self.v2Answer { try v2ModelReady(request) } }
            // a tensor batch is read whole by the handler: keep it off the disk
            router.post(prefix + "/infer", maxBodySize: maxBody, inMemoryBodySize: maxBody) { request in
                Self.v2Answer { try v2Infer(request) }
            }
        }
    }

    /// Runs a V2 handler and renders what it throws in the protocol's error form.
    private static func v2Answer(_ body: () throws -> Response) -> Response {
        do { return try body() } catch { return V2Error(error).response }
    }

    /// The model a V2 path names, checked to exist in the version asked for; 404 naming it otherwise.
    private func v2Model(_ request: Request) throws -> String {
        let name = try request.pathParameter("name")
        guard (try? service.store.model(id: name)) != nil else {
            throw V2Error.notFound("No model is named '\(name)'; GET /models lists them.")
        }
        if let version = request.pathParameters["version"], version != Self.v2ModelVersion {
            throw V2Error.notFound("Model '\(name)' has no version '\(version)'; its only version is "
                + "'\(Self.v2ModelVersion)' (a fine-tuned model is a model of its own).")
        }
        return name
    }

    /// GET /v2/models/{name}: the inputs (a preprocessed FP32 batch or encoded images, one per request) and outputs.
    private func v2ModelMetadata(_ request: Request) throws -> Response {
        let name = try v2Model(request)
        let (spec, labels) = try service.predictor.inputContract(modelID: name)
        func tensor(_ name: String, _ type: V2Datatype, _ shape: [Int]) -> String {
            "{\"name\":" + V2JSON.quote(name) + ",\"datatype\":\"\(type.rawValue)\",\"shape\":["
                + shape.map(String.init).joined(separator: ",") + "]}"
        }
        let inputs = [tensor(Self.v2TensorInput, .fp32, [-1, spec.channels, spec.height, spec.width]),
                      tensor(Self.v2ImageInput, .bytes, [-1])]
        let outputs = Self.v2Outputs.map { tensor($0, .fp32, [-1, labels.count]) }
        let text = "{\"name\":" + V2JSON.quote(name) + ",\"versions\":[\"\(Self.v2ModelVersion)\"],"
            + "\"platform\":\"graft\",\"inputs\":[" + inputs.joined(separator: ",") + "],\"outputs\":["
            + outputs.joined(separator: ",") + "]}"
        return Response.json(Data(text.utf8))
    }

    /// GET /v2/models/{name}/ready: a registered model is ready (it loads on first use).
    private func v2ModelReady(_ request: Request) throws -> Response {
        let name = try v2Model(request)
        return Response.json(Data(("{\"name\":" + V2JSON.quote(name) + ",\"ready\":true}").utf8))
    }

    /// POST /v2/models/{name}/infer: one input (`input` FP32 N×C×H×W preprocessed, or `image` BYTES [N] of encoded
    /// JPEG/PNG), logits and probabilities out, each as a tensor or top-k `"score:index:label"` strings.
    private func v2Infer(_ request: Request) throws -> Response {
        let name = try v2Model(request)
        if let encoding = request.headers["Content-Encoding"], encoding.lowercased() != "identity" {
            throw V2Error(status: .unsupportedMediaType, message:
                "Content-Encoding '\(encoding)' is not supported; send the request uncompressed.")
        }
        var headerLength: Int?
        if let text = request.headers["Inference-Header-Content-Length"] {
            guard let length = Int(text.trimmingCharacters(in: .whitespaces)), length >= 0 else {
                throw V2Error.badRequest("Inference-Header-Content-Length must be a whole number of bytes; got '\(text)'.")
            }
            headerLength = length
        }
        let parsed = try V2InferenceRequest(body: try request.body.data(), headerLength: headerLength)
        guard parsed.inputs.count == 1, let given = parsed.inputs.first else {
            throw V2Error.badRequest("Send exactly one input, '\(Self.v2TensorInput)' (FP32 N×C×H×W, preprocessed) "
                + "or '\(Self.v2ImageInput)' (BYTES [N], encoded JPEG or PNG); got \(parsed.inputs.map(\.name)).")
        }
        let (spec, labels) = try service.predictor.inputContract(modelID: name)
        let requested = parsed.outputs ?? Self.v2Outputs.map { V2RequestedOutput(name: $0) }
        for output in requested where !Self.v2Outputs.contains(output.name) {
            throw V2Error.badRequest("Model '\(name)' has no output '\(output.name)'; its outputs are "
                + Self.v2Outputs.joined(separator: " and ") + ".")
        }
        for output in requested {
            if let count = output.classification, count > labels.count {
                throw V2Error.badRequest("Output '\(output.name)' asks for classification \(count) but model "
                    + "'\(name)' has \(labels.count) classes.")
            }
        }
        let input: Predictor.Input
        switch given.name {
        case Self.v2TensorInput:
            let expected = [spec.channels, spec.height, spec.width]
            guard given.datatype == V2Datatype.fp32.rawValue else {
                throw V2Error.badRequest("Input '\(given.name)' must be FP32; got \(given.datatype).")
            }
            guard given.shape.count == 4, Array(given.shape.dropFirst()) == expected else {
                throw V2Error.badRequest("Input '\(given.name)' has shape \(given.shape); model '\(name)' takes "
                    + "[N, \(expected.map(String.init).joined(separator: ", "))].")
            }
            input = .preprocessed(Tensor(shape: given.shape, scalars: try given.floats()))
        case Self.v2ImageInput:
            guard given.datatype == V2Datatype.bytes.rawValue else {
                throw V2Error.badRequest("Input '\(given.name)' must be BYTES (encoded JPEG or PNG); got "
                    + "\(given.datatype).")
            }
            guard given.shape.count == 1 || (given.shape.count == 2 && given.shape[1] == 1) else {
                throw V2Error.badRequest("Input '\(given.name)' has shape \(given.shape); send [N] or [N, 1] images.")
            }
            input = .encoded(try given.byteElements())
        default:
            throw V2Error.badRequest("Model '\(name)' has no input '\(given.name)'; send '\(Self.v2TensorInput)' "
                + "(FP32 N×C×H×W, preprocessed) or '\(Self.v2ImageInput)' (BYTES [N], encoded JPEG or PNG).")
        }
        let scores = try service.predictor.scores(modelID: name, input: input)
        let rows = scores.logits.shape[0], classes = scores.logits.shape[1]
        var probabilities: [Float] = []
        if requested.contains(where: { $0.name == "probabilities" }) {
            probabilities.reserveCapacity(rows * classes)
            for row in 0..<rows {
                let logits = Array(scores.logits.scalars[(row * classes)..<((row + 1) * classes)])
                probabilities += ClassScores.softmax(logits).map(Float.init)
            }
        }
        let outputs = requested.map { output in
            let values = output.name == "logits" ? scores.logits.scalars : probabilities
            let binary = output.binary ?? parsed.binaryOutput
            guard let count = output.classification else {
                return V2ResponseOutput(name: output.name, shape: [rows, classes], values: .floats(values),
                                        binary: binary)
            }
            // Triton's classification extension: the top `count` of each row as "score:index:label".
            var strings: [String] = []
            for row in 0..<rows {
                let scoresOfRow = Array(values[(row * classes)..<((row + 1) * classes)])
                for index in ClassScores.ranked(scoresOfRow).prefix(count) {
                    strings.append("\(scoresOfRow[index]):\(index):\(labels[index])")
                }
            }
            return V2ResponseOutput(name: output.name, shape: [rows, count], values: .strings(strings), binary: binary)
        }
        return V2InferenceResponse(modelName: name, modelVersion: Self.v2ModelVersion, id: parsed.id,
                                   outputs: outputs).response
    }
}
