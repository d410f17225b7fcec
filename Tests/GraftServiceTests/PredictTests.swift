// POST /predict with a real (randomly initialised) ResNet-8 model folder and real PNGs from Fashion-MNIST.
import FineTuning
import Foundation
import HTTPServer
import ImageData
import NeuralNetwork
import Testing
@testable import GraftService

@Suite(.serialized) struct PredictTests {
    static let labels = ["ankle-boot", "bag", "sandal", "shirt", "sneaker"]

    /// Writes `Models/tiny-resnet/` (28×28 grey input, 5 classes, seeded weights) into the harness's resources,
    /// registers it like start-up does, and returns the PNG files of the held-out sample images.
    static func prepare(_ harness: RouteHarness) throws -> [URL] {
        let folder = harness.service.baseModelsDirectory.appendingPathComponent("tiny-resnet")
        let nodes = Architectures.resnet8(inputChannels: 1, classes: labels.count)
        let graph = try Graph(nodes: nodes, seed: 7)
        let manifest = ModelManifest(nodes: nodes, input: .init(channels: 1, height: 28, width: 28, resize: .stretch,
                                                                mean: [0.3], std: [0.3]),
                                     labels: labels, head: "fc")
        try ModelFolder(manifest: manifest, graph: graph).save(to: folder)
        let report = try BaseModelCatalog(directory: harness.service.baseModelsDirectory)
            .synchronize(into: harness.service.store)
        #expect(report.registered.contains("tiny-resnet"))
        let zip = try DatasetRouteTests.sampleZip(perClass: 1, in: harness.directory)
        let heldOut = zip.deletingLastPathComponent().appendingPathComponent("fashion-5-9-heldout")
        return try FileManager.default.subpathsOfDirectory(atPath: heldOut.path).filter { $0.hasSuffix(".png") }
            .sorted().map { heldOut.appendingPathComponent($0) }
    }

    @Test func predictionsMatchAnIndependentForwardPass() throws {
        let harness = try RouteHarness()
        let images = try Self.prepare(harness)
        #expect(images.count == 5)
        let encoded = try images.map { try Data(contentsOf: $0).base64EncodedString() }
        let body = "{\"model\": \"tiny-resnet\", \"top_k\": 3, \"images\": [" + encoded.map { "\"\($0)\"" }
            .joined(separator: ",") + "]}"
        let response = harness.call(.post, "/predict", json: body)
        #expect(response.status == 200, "\(String(decoding: response.bytes, as: UTF8.self))")
        let predictions = try #require(response.json["predictions"] as? [[String: Any]])
        #expect(predictions.count == 5)

        // Reference: load the folder again, preprocess by hand (28×28 grey, (x/255 − 0.3)/0.3), forward, softmax.
        let reference = try ModelFolder.load(from: harness.service.baseModelsDirectory
            .appendingPathComponent("tiny-resnet"))
        for (index, url) in images.enumerated() {
            let image = try ImageDecoder.decode(contentsOf: url)
            #expect(image.width == 28 && image.height == 28 && image.channels == 1)
            let pixels = image.pixels.map { (Float($0) / 255 - 0.3) / 0.3 }
            let logits = try reference.graph.forward(Tensor(shape: [1, 1, 28, 28], scalars: pixels), mode: .inference)
            let largest = Double(logits.scalars.max()!)
            let exponentials = logits.scalars.map { exp(Double($0) - largest) }
            let probabilities = exponentials.map { $0 / exponentials.reduce(0, +) }
            let expected = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(3)

            let got = try #require(predictions[index]["labels"] as? [[String: Any]])
            #expect(got.count == 3)
            #expect(got.compactMap { $0["label"] as? String } == expected.map { Self.labels[$0] })
            for (candidate, classIndex) in zip(got, expected) {
                let probability = try #require(candidate["probability"] as? Double)
                #expect(abs(probability - probabilities[classIndex]) < 1e-5)
            }
        }
        #expect(harness.service.predictor.cachedModelIDs == ["tiny-resnet"])
    }

    /// With no job training, a lone request uses the wide lane (a second copy of the model, plans for its thread
    /// count) and concurrent ones spread over the one-thread lanes; while a job trains, only lane 0 runs. Every lane
    /// gives the same answers.
    @Test func idlePredictionsUseTheOtherLanesWithTheSameAnswers() throws {
        final class Flag: @unchecked Sendable {
            let lock = NSLock()
            var training = false
            func get() -> Bool { lock.lock(); defer { lock.unlock() }; return training }
            func set(_ value: Bool) { lock.lock(); training = value; lock.unlock() }
        }
        let harness = try RouteHarness()
        let images = try Self.prepare(harness).prefix(5).map { try Data(contentsOf: $0) }
        let flag = Flag()
        let predictor = Predictor(store: harness.service.store, context: ComputeContext(threads: 1),
                                  idleLanes: [ComputeContext(threads: 1)], wideContext: ComputeContext(threads: 2),
                                  wideLaneMinimumMACs: 0, isTrainingActive: { flag.get() })
        #expect(predictor.currentThreads == 2)
        let idle = try predictor.predict(modelID: "tiny-resnet", images: Array(images), topK: 5)
        #expect(predictor.wideModelIDs == ["tiny-resnet"], "an idle prediction loads the model on the wide lane")
        #expect(predictor.runsPerLane == [0, 0, 1])

        // Two requests at once: the first holds lane 0 until the second has taken lane 1.
        let lanes = Predictor(store: harness.service.store, context: ComputeContext(threads: 1),
                              idleLanes: [ComputeContext(threads: 1)], isTrainingActive: { flag.get() })
        let secondLaneTaken = DispatchSemaphore(value: 0)
        let overlapped = NSLock()
        nonisolated(unsafe) var sawOverlap = false
        lanes.laneTaken = { lane in
            if lane == 1 { secondLaneTaken.signal() }
            if lane == 0, !flag.get(), secondLaneTaken.wait(timeout: .now() + 10) == .success {
                overlapped.lock(); sawOverlap = true; overlapped.unlock()
            }
        }
        nonisolated(unsafe) var answers: [[Prediction]] = [[], []]
        let both = DispatchGroup()
        for index in 0..<2 {  // two real threads: a queue on a loaded machine might run the two in turn
            both.enter()
            Thread {
                let answer = try? lanes.predict(modelID: "tiny-resnet", images: [images[index]], topK: 5)
                overlapped.lock(); answers[index] = answer ?? []; overlapped.unlock()
                both.leave()
            }.start()
        }
        both.wait()
        #expect(sawOverlap, "the second request ran on lane 1 while the first held lane 0")
        #expect(lanes.runsPerLane == [1, 1])
        for index in 0..<2 {
            #expect(answers[index].count == 1)
            if let answer = answers[index].first { Self.expectSame(answer, idle[index]) }
        }

        // while a job trains only lane 0 runs, however many requests wait
        flag.set(true)
        #expect(predictor.currentThreads == 1)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            _ = try? lanes.predict(modelID: "tiny-resnet", images: Array(images), topK: 5)
        }
        let busy = try lanes.predict(modelID: "tiny-resnet", images: Array(images), topK: 5)
        #expect(lanes.runsPerLane == [6, 1], "while a job trains only lane 0 runs: \(lanes.runsPerLane)")
        for (a, b) in zip(idle, busy) { Self.expectSame(a, b) }

        // the service itself wires the lanes to its worker pool, and keeps a model this small off the wide lane
        #expect(harness.service.predictor.currentThreads == (ComputeContext.availableCores > 1 ? ComputeContext.availableCores : 1))
        _ = try harness.service.predictor.predict(modelID: "tiny-resnet", images: [images[0]], topK: 1)
        #expect(harness.service.predictor.wideModelIDs.isEmpty)
    }

    /// The cache counts what each loaded copy holds (at least its weights file) and unloads the least recently
    /// used models beyond its bound, never the one in use; an unloaded model loads again with the same answers.
    @Test func modelCacheUnloadsTheLeastRecentlyUsed() throws {
        let harness = try RouteHarness()
        let images = try Self.prepare(harness).prefix(2).map { try Data(contentsOf: $0) }
        let base = try harness.service.store.model(id: "tiny-resnet")
        for id in ["copy-a", "copy-b"] {
            try harness.service.store.insertModel(ModelRecord(id: id, name: id, kind: .fineTuned, path: base.path,
                                                              weightsHash: base.weightsHash, labelsJSON: base.labelsJSON))
        }
        let weights = try #require(try FileManager.default.attributesOfItem(
            atPath: base.path + "/weights.safetensors")[.size] as? NSNumber).intValue
        let roomy = Predictor(store: harness.service.store, maximumCachedBytes: 1 << 40)
        let first = try roomy.predict(modelID: "copy-a", images: images, topK: 3)
        _ = try roomy.predict(modelID: "copy-b", images: images, topK: 3)
        #expect(roomy.cachedModelIDs == ["copy-a", "copy-b"])
        #expect(roomy.cachedBytes >= 2 * weights)

        // room for one: each new model pushes the other out
        let tight = Predictor(store: harness.service.store, maximumCachedBytes: 1)
        _ = try tight.predict(modelID: "copy-a", images: images, topK: 3)
        #expect(tight.cachedModelIDs == ["copy-a"])
        _ = try tight.predict(modelID: "copy-b", images: images, topK: 3)
        #expect(tight.cachedModelIDs == ["copy-b"])
        let again = try tight.predict(modelID: "copy-a", images: images, topK: 3)
        #expect(tight.cachedModelIDs == ["copy-a"])
        for (a, b) in zip(first, again) { Self.expectSame(a, b) }
    }

    /// Predictions count as busy while served and for `activeWindow` after; the service hands that to its jobs,
    /// which then give up a core.
    @Test func predictionsAreActiveForAWindowAndJobsAreTold() throws {
        let harness = try RouteHarness()
        let images = try Self.prepare(harness).prefix(1).map { try Data(contentsOf: $0) }
        let predictor = harness.service.predictor
        predictor.activeWindow = 60
        #expect(!predictor.isActive && !harness.service.workers.predictionsActive())
        _ = try predictor.predict(modelID: "tiny-resnet", images: images, topK: 1)
        #expect(predictor.isActive && harness.service.workers.predictionsActive())
        predictor.activeWindow = 0
        #expect(!predictor.isActive && !harness.service.workers.predictionsActive())
    }

    static func expectSame(_ a: Prediction, _ b: Prediction) {
        #expect(a.candidates.map(\.label) == b.candidates.map(\.label))
        for (x, y) in zip(a.candidates, b.candidates) { #expect(abs(x.probability - y.probability) < 1e-5) }
    }

    @Test func rawImageBodiesAndBadRequests() throws {
        let harness = try RouteHarness()
        let images = try Self.prepare(harness)
        let png = try Data(contentsOf: images[0])
        let single = harness.call(.post, "/predict?model=tiny-resnet&top_k=5", headers: ["Content-Type": "image/png"],
                                  bytes: png)
        #expect(single.status == 200)
        let labels = ((single.json["predictions"] as? [[String: Any]])?.first?["labels"] as? [[String: Any]]) ?? []
        #expect(Set(labels.compactMap { $0["label"] as? String }) == Set(Self.labels))
        let total = labels.compactMap { $0["probability"] as? Double }.reduce(0, +)
        #expect(abs(total - 1) < 1e-6)

        let cases: [(String, HTTPHeaders, Data, Int, String?)] = [
            ("/predict?model=nope", ["Content-Type": "image/png"], png, 422, "model"),
            ("/predict", ["Content-Type": "image/png"], png, 422, "model"),
            ("/predict?model=tiny-resnet", ["Content-Type": "image/png"], Data("not a png".utf8), 422, "images[0]"),
            ("/predict?model=tiny-resnet", ["Content-Type": "image/png"], png.prefix(60), 422, "images[0]"),
            ("/predict?model=tiny-resnet&top_k=0", ["Content-Type": "image/png"], png, 422, "top_k"),
            ("/predict?model=tiny-resnet", ["Content-Type": "text/plain"], png, 415, nil),
            ("/predict", ["Content-Type": "application/json"], Data(#"{"model": "tiny-resnet", "images": ["%%"]}"#.utf8),
             422, "images[0]"),
            ("/predict", ["Content-Type": "application/json"], Data(#"{"model": "tiny-resnet", "images": []}"#.utf8),
             422, "images"),
        ]
        for (target, headers, body, status, field) in cases {
            let response = harness.call(.post, target, headers: headers, bytes: body)
            #expect(response.status == status, "\(target) \(headers)")
            #expect(response.errorField == field, "\(target)")
        }
    }

    @Test func multipartOverARealSocket() throws {
        let harness = try RouteHarness()
        let images = try Self.prepare(harness)
        var http = HTTPServerConfiguration()
        http.port = 0
        http.accessLogLevel = .trace
        let host = ServiceHost(service: harness.service, http: http, logger: ServiceTests.quietLogger())
        try host.start()
        defer { host.stop() }
        let output = try LiveServiceTests.curl(["-F", "model=tiny-resnet", "-F", "top_k=2",
                                                "-F", "image=@\(images[0].path);type=image/png",
                                                "-F", "image=@\(images[1].path);type=image/png",
                                                "http://127.0.0.1:\(host.port)/predict"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let predictions = try #require(json["predictions"] as? [[String: Any]], "\(output)")
        #expect(predictions.count == 2)
        // The same images as JSON give the same answers.
        let viaJSON = harness.call(.post, "/predict", json: "{\"model\": \"tiny-resnet\", \"top_k\": 2, \"images\": [\""
            + (try Data(contentsOf: images[0]).base64EncodedString()) + "\", \""
            + (try Data(contentsOf: images[1]).base64EncodedString()) + "\"]}")
        let expected = try #require(viaJSON.json["predictions"] as? [[String: Any]])
        for (a, b) in zip(predictions, expected) {
            let left = (a["labels"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String }
            let right = (b["labels"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String }
            #expect(left == right && left.count == 2)
        }
    }
}
