// POST /datasets with real archives of Fashion-MNIST PNG folders (made by scripts/make-sample-dataset).
import Foundation
import NeuralNetwork
import HTTPServer
import Testing
@testable import GraftService

@Suite struct DatasetRouteTests {
    /// A zip of classes 5–9 with `perClass` images each, built by the repository's sample script.
    static func sampleZip(perClass: Int, in directory: TemporaryDirectory) throws -> URL {
        let script = TestSupport.repositoryMigrations.deletingLastPathComponent()
            .appendingPathComponent("scripts/make-sample-dataset")
        let out = directory.path("samples-\(perClass)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--out", out.path, "--per-class", "\(perClass)", "--heldout", "1"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return out.appendingPathComponent("fashion-5-9.zip")
    }

    /// Files in the service's datasets folder.
    static func datasetFiles(_ harness: RouteHarness) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: harness.service.configuration.datasetsDirectory.path).sorted()
    }

    @Test func uploadedZipIsExtractedValidatedAndUsableByAJob() throws {
        let harness = try RouteHarness()
        let zip = try Self.sampleZip(perClass: 6, in: harness.directory)
        let response = harness.call(.post, "/datasets?name=fashion", headers: ["Content-Type": "application/zip"],
                                    bytes: try Data(contentsOf: zip))
        #expect(response.status == 201, "\(String(decoding: response.bytes, as: UTF8.self))")
        let id = try #require(response.json["id"] as? String)
        #expect(response.json["name"] as? String == "fashion" && response.json["source"] as? String == "upload")
        #expect(response.json["class_count"] as? Int == 5 && response.json["image_count"] as? Int == 30)
        #expect(response.json["labels"] as? [String] == ["ankle-boot", "bag", "sandal", "shirt", "sneaker"])
        let report = try #require(response.json["report"] as? [String: Any])
        #expect((report["classes"] as? [[String: Any]])?.count == 5)
        #expect(try Self.datasetFiles(harness) == [id], "only the extracted folder remains")
        let stored = try harness.service.store.dataset(id: id)
        #expect(stored.contentHash == (try SHA256.hexDigest(ofFileAt: zip)))

        let job = harness.call(.post, "/jobs", json: "{\"dataset\": \"\(id)\"}")
        #expect(job.status == 202 && job.json["dataset_id"] as? String == id)
        _ = harness.call(.delete, "/jobs/\(job.json["id"] as? String ?? "")")
        #expect(harness.call(.delete, "/datasets/\(id)").status == 204)
        #expect(try Self.datasetFiles(harness).isEmpty, "deleting an upload removes its files")
    }

    @Test func refusedUploadsLeaveNoRowAndNoFile() throws {
        let harness = try RouteHarness()
        // One class folder holding no image: the report has errors (too few classes, empty class).
        let oneClass = harness.directory.path("one-class.zip")
        let zipper = Process()
        zipper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        zipper.arguments = ["python3", "-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1], 'w')"
                            + ".writestr('only/readme.txt', 'not an image')", oneClass.path]
        try zipper.run()
        zipper.waitUntilExit()
        let cases: [(String, Data, Int, String?)] = [
            ("application/zip", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }), 422, "body"),
            ("application/zip", try Data(contentsOf: oneClass), 422, "body"),
            ("application/zip", Data(), 422, "body"),
            ("image/png", Data([0x89, 0x50]), 415, nil),
        ]
        for (contentType, body, status, field) in cases {
            let response = harness.call(.post, "/datasets", headers: ["Content-Type": contentType], bytes: body)
            #expect(response.status == status, "\(contentType) \(body.count) bytes")
            #expect(response.errorField == field)
        }
        #expect(try harness.service.store.listDatasets().count == 1, "only the seeded dataset")
        #expect(try Self.datasetFiles(harness).isEmpty)
    }

    @Test func folderUnderTheDataRootAndNothingOutsideIt() throws {
        let harness = try RouteHarness(withDatasetRoot: true)
        let zip = try Self.sampleZip(perClass: 6, in: harness.directory)
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        unzip.arguments = ["python3", "-m", "zipfile", "-e", zip.path, harness.directory.path("data-root/shoes").path]
        try unzip.run()
        unzip.waitUntilExit()

        let created = harness.call(.post, "/datasets", json: #"{"folder": "shoes", "name": "shoes"}"#)
        #expect(created.status == 201, "\(String(decoding: created.bytes, as: UTF8.self))")
        #expect(created.json["source"] as? String == "folder" && created.json["image_count"] as? Int == 30)
        for escape in ["../var", "/etc", "shoes/../../var", "missing"] {
            let refused = harness.call(.post, "/datasets", json: "{\"folder\": \"\(escape)\"}")
            #expect(refused.status == 422 && refused.errorField == "folder", "\(escape)")
        }
        // Deleting a folder dataset forgets it but leaves the user's files.
        #expect(harness.call(.delete, "/datasets/\(created.json["id"] as? String ?? "")").status == 204)
        #expect(FileManager.default.fileExists(atPath: harness.directory.path("data-root/shoes").path))

        let noRoot = try RouteHarness()
        #expect(noRoot.call(.post, "/datasets", json: #"{"folder": "shoes"}"#).errorField == "folder")
    }
}
