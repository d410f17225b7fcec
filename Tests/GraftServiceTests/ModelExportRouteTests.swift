// GET /models/:id/export through a real server: the ONNX file of a base model (decoded again: opset, metadata), the
// weights file as stored, the attachment names, and the 400 and 404 answers.
import Foundation
import HTTPServer
import Logging
import Testing
@testable import GraftService
@testable import NeuralNetwork

@Suite struct ModelExportRouteTests {
    /// A download with curl: status, headers (lower-cased names) and the body.
    static func download(_ url: String, in directory: TemporaryDirectory) throws -> (status: Int, headers: [String: String], body: Data) {
        let file = directory.path("download-\(UUID().uuidString)")
        let head = try LiveServiceTests.curl(["-D", "-", "-o", file.path, url])
        var lines = head.split(separator: "\r\n").map(String.init)
        let statusLine = lines.removeFirst()
        let status = Int(statusLine.split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers, (try? Data(contentsOf: file)) ?? Data())
    }

    @Test func exportsABaseModelAsONNXOrItsWeightsAndRefusesUnknownFormatsAndModels() throws {
        let harness = try RouteHarness()
        try EndToEndFineTuningTests.installDefaultBase(harness)
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        var logger = Logger(label: "graft.http.test")
        logger.logLevel = .error
        let server = HTTPServer(configuration: configuration, router: harness.router, logger: logger)
        try server.start()
        defer { server.shutdown(gracePeriod: 1) }
        let base = "http://127.0.0.1:\(server.port)/models"
        let folder = harness.service.baseModelsDirectory.appendingPathComponent("fmnist-resnet8")

        let onnx = try Self.download("\(base)/fmnist-resnet8/export?format=onnx", in: harness.directory)
        #expect(onnx.status == 200)
        #expect(onnx.headers["content-disposition"] == #"attachment; filename="fmnist-resnet8.onnx""#)
        #expect(onnx.headers["content-type"] == "application/octet-stream")
        // The bytes decode as the model's ONNX form: opset 13, its labels and head in the metadata.
        let proto = try ONNXFile(data: onnx.body, url: URL(fileURLWithPath: "fmnist-resnet8.onnx"),
                                  externalDataFolder: nil).model
        #expect(proto.opsetImport.map(\.version) == [13] && proto.graph.output.map(\.name) == ["logits"])
        let metadata = Dictionary(uniqueKeysWithValues: proto.metadataProps.map { ($0.key, $0.value) })
        let manifest = try ModelManifest.read(contentsOf: folder.appendingPathComponent("model.json"))
        #expect(metadata["graft.head"] == "fc")
        #expect(try JSONDecoder().decode([String].self, from: Data((metadata["graft.labels"] ?? "").utf8)) == manifest.labels)
        #expect(onnx.body == (try ONNXExport.export(try ModelFolder.load(from: folder))), "what graft export onnx writes")

        let unnamed = try Self.download("\(base)/fmnist-resnet8/export", in: harness.directory)
        #expect(unnamed.status == 200 && unnamed.body == onnx.body, "ONNX is the default format")

        let weights = try Self.download("\(base)/fmnist-resnet8/export?format=safetensors", in: harness.directory)
        #expect(weights.status == 200)
        #expect(weights.headers["content-disposition"] == #"attachment; filename="fmnist-resnet8.safetensors""#)
        #expect(weights.body == (try Data(contentsOf: folder.appendingPathComponent("weights.safetensors"))),
                "the weights file as stored")

        let unknown = try Self.download("\(base)/fmnist-resnet8/export?format=tflite", in: harness.directory)
        #expect(unknown.status == 400)
        let error = try #require(try JSONSerialization.jsonObject(with: unknown.body) as? [String: [String: String]])
        #expect(error["error"]?["code"] == "unknown_format" && error["error"]?["field"] == "format")
        #expect(error["error"]?["message"]?.contains("'tflite'") == true
                && error["error"]?["message"]?.contains("onnx, safetensors") == true, "\(error)")

        let missing = try Self.download("\(base)/no-such-model/export?format=onnx", in: harness.directory)
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self).contains("model_not_found"))
    }

    @Test func aModelWithoutWeightsIsAStorageErrorNamingTheFile() throws {
        let harness = try RouteHarness()
        try harness.service.store.upsertBaseModel(ModelRecord(id: "base-gone", name: "gone", kind: .base,
                                                              path: "/models/tiny", weightsHash: "h"))
        for format in ["onnx", "safetensors"] {
            let response = harness.call(.get, "/models/base-gone/export?format=\(format)")
            #expect(response.status == 500 && response.errorCode == "storage_error", "\(format)")
            #expect(String(decoding: response.bytes, as: UTF8.self).contains("/models/tiny"), "\(format)")
        }
    }

    @Test func filenamesKeepToSafeCharacters() {
        #expect(ModelExport.safeFilename("my model \"v2\"/x", fallback: "id") == "my_model__v2__x")
        #expect(ModelExport.safeFilename("..", fallback: "m-1") == "m-1")
        #expect(ModelExport.safeFilename("resnet.v1", fallback: "id") == "resnet.v1")
    }
}
