// POST /models: an ONNX classifier uploaded raw or as a form becomes a registered base model with its layer
// summary; a bad file or request is refused with nothing left on disk or in the store.
import Foundation
import Testing
@testable import GraftService
@testable import NeuralNetwork

@Suite struct ModelImportRouteTests {
    /// x (N×3×16×16) → Conv 3→4 → Relu → GlobalAveragePool → Flatten → Gemm 4→3, as protobuf bytes.
    static func onnx(opType: String = "Relu") throws -> Data {
        func floats(_ name: String, _ shape: [Int64], seed: Int) -> Onnx_TensorProto {
            Onnx_TensorProto.with {
                $0.name = name
                $0.dims = shape
                $0.dataType = 1
                $0.floatData = (0..<Int(shape.reduce(1, *))).map { Float(($0 * 7 + seed) % 11) / 20 - 0.25 }
            }
        }
        func info(_ name: String, _ dims: [Int64?]) -> Onnx_ValueInfoProto {
            Onnx_ValueInfoProto.with {
                $0.name = name
                $0.type.tensorType.elemType = 1
                $0.type.tensorType.shape.dim = dims.map { d in .with { if let d { $0.dimValue = d } else { $0.dimParam = "N" } } }
            }
        }
        func node(_ op: String, _ inputs: [String], _ output: String, _ attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
            .with { $0.opType = op; $0.input = inputs; $0.output = [output]; $0.name = "/\(output)/\(op)"; $0.attribute = attributes }
        }
        let model = Onnx_ModelProto.with {
            $0.irVersion = 8
            $0.opsetImport = [.with { $0.version = 13 }]
            $0.graph.node = [
                node("Conv", ["x", "w"], "conv", [.with { $0.name = "kernel_shape"; $0.type = .ints; $0.ints = [3, 3] }]),
                node(opType, ["conv"], "act"),
                node("GlobalAveragePool", ["act"], "pool"),
                node("Flatten", ["pool"], "flat"),
                node("Gemm", ["flat", "fw", "fb"], "fc", [.with { $0.name = "transB"; $0.type = .int; $0.i = 1 }]),
            ]
            $0.graph.initializer = [floats("w", [4, 3, 3, 3], seed: 1), floats("fw", [3, 4], seed: 2), floats("fb", [3], seed: 3)]
            $0.graph.input = [info("x", [nil, 3, 16, 16])]
            $0.graph.output = [info("fc", [nil, 3])]
        }
        return try model.serializedBytes()
    }

    static func form(_ parts: [(name: String, file: String?, body: Data)], boundary: String = "graft-test-boundary") -> (Data, String) {
        var body = Data()
        for part in parts {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\"".utf8))
            if let file = part.file { body.append(Data("; filename=\"\(file)\"\r\nContent-Type: application/octet-stream".utf8)) }
            body.append(Data("\r\n\r\n".utf8))
            body.append(part.body)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    @Test func formUploadRegistersABaseModelWithItsLayers() throws {
        let harness = try RouteHarness()
        let (body, type) = Self.form([("model", "tiny.onnx", try Self.onnx()), ("labels", "labels.txt", Data("cat\ndog\nbird\n".utf8)),
                                      ("name", nil, Data("tiny-onnx".utf8)), ("crop_fraction", nil, Data("1".utf8))])
        let response = harness.call(.post, "/models", headers: ["Content-Type": type], bytes: body)
        #expect(response.status == 201, "\(response.json)")
        #expect(response.headers["Location"] == "/models/tiny-onnx")
        let json = response.json
        #expect(json["kind"] as? String == "base" && json["labels"] as? [String] == ["cat", "dog", "bird"])
        #expect((json["layers"] as? [[String: Any]])?.map { $0["op"] as? String ?? "" } ==
                ["Conv2d", "ReLU", "GlobalAvgPool", "Flatten", "Linear"], "\(json)")
        #expect((json["input"] as? [String: Any])?["height"] as? Int == 16)
        #expect((json["provenance"] as? [String: Any])?["onnx_sha256"] as? String != nil, "\(json)")
        // listed, and loadable by the engine's strict reader
        #expect(harness.call(.get, "/models/tiny-onnx").status == 200)
        let record = try harness.service.store.model(id: "tiny-onnx")
        let folder = try ModelFolder.load(from: URL(fileURLWithPath: record.path))
        #expect(folder.manifest.labels == ["cat", "dog", "bird"] && folder.manifest.input.cropFraction == 1)
        // the same name again is a conflict
        let again = harness.call(.post, "/models?name=tiny-onnx", headers: ["Content-Type": "application/octet-stream"],
                                 bytes: try Self.onnx())
        #expect(again.status == 409)
        // An imported model can be deleted (its folder too), and its name taken again.
        #expect(harness.call(.delete, "/models/tiny-onnx").status == 204)
        #expect(!FileManager.default.fileExists(atPath: record.path))
        #expect(harness.call(.get, "/models/tiny-onnx").status == 404)
        let reimported = harness.call(.post, "/models?name=tiny-onnx", headers: ["Content-Type": "application/octet-stream"],
                                      bytes: try Self.onnx())
        #expect(reimported.status == 201, "\(reimported.json)")
    }

    @Test func rawUploadTakesOptionsFromTheQuery() throws {
        let harness = try RouteHarness()
        let response = harness.call(.post, "/models?name=raw-onnx&mean=0.5,0.5,0.5&std=0.25,0.25,0.25",
                                    headers: ["Content-Type": "application/octet-stream"], bytes: try Self.onnx())
        #expect(response.status == 201, "\(response.json)")
        let input = try #require(response.json["input"] as? [String: Any])
        #expect((input["mean"] as? [Double]) == [0.5, 0.5, 0.5])
        #expect(response.json["labels"] as? [String] == ["class 0", "class 1", "class 2"])
    }

    @Test func badUploadsAreRefusedAndLeaveNothing() throws {
        let harness = try RouteHarness()
        let imported = harness.service.importedModelsDirectory
        let cases: [(String, String, Data, Int, String)] = [
            ("/models?name=x", "application/octet-stream", Data([0x50, 0x4B, 0x03, 0x04, 1, 2, 3, 4, 5, 6]), 422, "zip"),
            ("/models?name=x", "application/octet-stream", try Self.onnx(opType: "Erf"), 422, "Erf"),
            ("/models?name=x", "application/octet-stream", try Self.onnx().prefix(200), 422, "protobuf"),
            ("/models", "application/octet-stream", try Self.onnx(), 422, "name"),
            ("/models?name=../evil", "application/octet-stream", try Self.onnx(), 422, "name"),
            ("/models?name=x&size=7", "application/octet-stream", try Self.onnx(), 422, "size"),
            ("/models?name=x", "text/plain", try Self.onnx(), 415, "octet-stream"),
        ]
        for (target, type, body, status, mention) in cases {
            let response = harness.call(.post, target, headers: ["Content-Type": type], bytes: body)
            #expect(response.status == status, "\(target) \(type): \(response.status) \(response.json)")
            let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains(mention), "\(target): \(message)")
        }
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: imported.path)) ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(throws: (any Error).self) { try harness.service.store.model(id: "x") }
    }
}
