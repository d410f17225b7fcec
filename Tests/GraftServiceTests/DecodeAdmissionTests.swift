// Admission control for decoding predictions: an image far larger than the model needs is refused from its header,
// and the memory all requests decode into at once is bounded (503 with Retry-After beyond it).
import FineTuning
import Foundation
import HTTPServer
import ImageData
import Tensors
import Testing
@testable import GraftService

@Suite(.serialized) struct DecodeAdmissionTests {
    /// A PNG whose IHDR (with a correct CRC) declares `width` × `height` RGB pixels; its data is a few bytes.
    static func pngDeclaring(width: UInt32, height: UInt32) -> Data {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            return be32(UInt32(body.count)) + typed + be32(crc32(typed))
        }
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        bytes += chunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0])
        bytes += chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
        bytes += chunk("IEND", [])
        return Data(bytes)
    }

    /// Images that declare more pixels than the model's prediction budget, in every format and shape that cannot
    /// be scaled down while decoding, are 422s naming the image, and nothing is reserved or decoded for them.
    @Test(arguments: [(10_950, 10_950), (40_000, 1_300), (1_300, 40_000), (7_100, 7_100)])
    func oversizedImagesAreRefusedFromTheirHeader(width: Int, height: Int) throws {
        let harness = try RouteHarness()
        _ = try PredictTests.prepare(harness)
        let response = harness.call(.post, "/predict?model=tiny-resnet", headers: ["Content-Type": "image/png"],
                                    bytes: Self.pngDeclaring(width: UInt32(width), height: UInt32(height)))
        #expect(response.status == 422, "\(String(decoding: response.bytes, as: UTF8.self))")
        #expect(response.errorField == "images[0]")
        let message = String(decoding: response.bytes, as: UTF8.self)
        #expect(message.contains("\(width)") && message.contains("\(height)"), "\(message)")
        #expect(harness.service.predictor.decodeBudget.peakBytes == 0, "refused before any budget was taken")
    }

    /// While other requests hold the decode budget, a request that needs more of it than is left answers 503 with
    /// Retry-After and a message naming the flag; once released it is served, and every reservation is returned.
    @Test func theSharedDecodeBudgetAdmitsWhatFitsAndRefusesTheRest() throws {
        let harness = try RouteHarness()
        let image = try Data(contentsOf: try #require(try PredictTests.prepare(harness).first))
        let predictor = harness.service.predictor
        let budget = predictor.decodeBudget
        let spec = InputSpec(channels: 1, height: 28, width: 28, resize: .stretch, mean: [0.3], std: [0.3])
        let need = try Classifier.decodedByteCount(image, name: "image 0", spec: spec)
        #expect(need > 0)
        // other requests hold all but one byte less than this image needs
        #expect(budget.reserve(budget.limitBytes - need + 1))
        let refused = harness.call(.post, "/predict?model=tiny-resnet", headers: ["Content-Type": "image/png"], bytes: image)
        #expect(refused.status == 503)
        #expect(refused.errorCode == "decode_budget_full")
        #expect(refused.headers["Retry-After"] == "1")
        #expect(String(decoding: refused.bytes, as: UTF8.self).contains("--decode-budget-mib"))
        // exactly enough left: served
        budget.release(1)
        let served = harness.call(.post, "/predict?model=tiny-resnet", headers: ["Content-Type": "image/png"], bytes: image)
        #expect(served.status == 200, "\(String(decoding: served.bytes, as: UTF8.self))")
        budget.release(budget.limitBytes - need)
        #expect(budget.bytesInFlight == 0, "the served request returned what it reserved")
        // a batch decodes one image at a time: ten images need no more budget than one
        #expect(budget.reserve(budget.limitBytes - need))
        let encoded = Array(repeating: "\"" + image.base64EncodedString() + "\"", count: 10).joined(separator: ",")
        let batch = harness.call(.post, "/predict", json: "{\"model\": \"tiny-resnet\", \"images\": [\(encoded)]}")
        #expect(batch.status == 200, "\(String(decoding: batch.bytes, as: UTF8.self))")
        budget.release(budget.limitBytes - need)
        #expect(budget.bytesInFlight == 0)
    }

    @Test func theBudgetNeverHandsOutMoreThanItHas() {
        let budget = DecodeBudget(limitBytes: 100)
        #expect(budget.reserve(60) && !budget.reserve(41) && budget.reserve(40) && !budget.reserve(1))
        budget.release(60)
        #expect(budget.bytesInFlight == 40 && budget.peakBytes == 100 && budget.reserve(60))
    }
}

/// JSON prediction bodies are strict like job bodies: a wrong type or an unknown field is a 422 naming it.
@Suite(.serialized) struct StrictPredictBodyTests {
    @Test(arguments: [
        (#"{"model": "tiny-resnet", "top_k": "3", "images": [IMAGE]}"#, "top_k"),
        (#"{"model": "tiny-resnet", "top_k": 2.5, "images": [IMAGE]}"#, "top_k"),
        (#"{"model": "tiny-resnet", "top_k": 0, "images": [IMAGE]}"#, "top_k"),
        (#"{"model": 7, "images": [IMAGE]}"#, "model"),
        (#"{"model": "tiny-resnet", "image": [IMAGE]}"#, "image"),
        (#"{"model": "tiny-resnet", "images": [IMAGE], "topk": 3}"#, "topk"),
        (#"{"model": "tiny-resnet", "images": IMAGE}"#, "images"),
        (#"{"model": "tiny-resnet", "images": [IMAGE, 5]}"#, "images[1]"),
    ])
    func wrongTypesAndUnknownFieldsAreNamed(body: String, field: String) throws {
        let harness = try RouteHarness()
        let image = try Data(contentsOf: try #require(try PredictTests.prepare(harness).first))
        let json = body.replacingOccurrences(of: "IMAGE", with: "\"" + image.base64EncodedString() + "\"")
        let response = harness.call(.post, "/predict", json: json)
        #expect(response.status == 422, "\(String(decoding: response.bytes, as: UTF8.self))")
        #expect(response.errorField == field)
        // the same body with the fault removed is served
        let good = harness.call(.post, "/predict", json: #"{"model": "tiny-resnet", "top_k": 2, "images": ["\#(image.base64EncodedString())"]}"#)
        #expect(good.status == 200)
    }
}
