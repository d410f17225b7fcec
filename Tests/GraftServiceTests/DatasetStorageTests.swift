// POST /datasets when the disk is too small: refused with 507 before extracting, or 507 when the disk fills
// while extracting, and in both cases no row, no upload and no partial folder left behind.
import Foundation
import HTTPServer
import ImageData
import Testing
@testable import GraftService

@Suite struct DatasetStorageTests {
    /// A zip of `files` incompressible members (`bytes` each) in two class folders, written by Python's zipfile.
    static func noiseZip(files: Int, bytes: Int, at url: URL) throws -> URL {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import os, sys, zipfile
            with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
                for i in range(int(sys.argv[2])):
                    z.writestr(f"{'cats' if i % 2 else 'dogs'}/{i}.png", os.urandom(int(sys.argv[3])))
            """, url.path, "\(files)", "\(bytes)"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return url
    }

    /// Checks the 507 body and that the datasets folder holds nothing and no dataset row was added.
    static func expectRefusedWithNothingLeft(_ harness: RouteHarness, _ error: ServiceError) throws {
        #expect(error.httpStatusCode == 507 && error.status.code == 507 && error.code == "insufficient_storage")
        #expect(error.message.contains("free disk space"), "\(error.message)")
        #expect(try DatasetRouteTests.datasetFiles(harness).isEmpty)
        #expect(try harness.service.store.listDatasets().count == 1, "only the seeded dataset")
    }

    @Test func tooLittleFreeSpaceIs507NamingBothFigures() throws {
        let harness = try RouteHarness()
        let zip = try Self.noiseZip(files: 4, bytes: 10_000, at: harness.directory.path("noise.zip"))
        do {
            _ = try harness.service.importDatasetArchive(
                at: zip, name: nil, space: { _ in FileSystemSpace(availableBytes: 5_000_000, blockSize: 4096) })
            Issue.record("imported onto a disk without room")
        } catch let error as ServiceError {
            #expect(error.message.contains("only 5000000 bytes (4.8 MiB) are free"), "\(error.message)")
            #expect(error.message.contains("needs 67170304 bytes"), "4 × 12 KiB + 3 folders' blocks + 64 MiB")
            try Self.expectRefusedWithNothingLeft(harness, error)
        }
        let paths = try OpenAPITests.document(harness)["paths"] as? [String: [String: Any]]
        let responses = (paths?["/datasets"]?["post"] as? [String: Any])?["responses"] as? [String: Any]
        #expect(responses?["507"] != nil, "the OpenAPI document lists the 507")
    }

    /// The datasets folder on a real 4 MiB tmpfs: the 64 MiB margin alone does not fit, so the route answers
    /// 507 from the statvfs check, before extracting.
    @Test(.enabled(if: SmallDisk.isAvailable, "needs root to mount a tmpfs"))
    func uploadOntoASmallRealDiskIs507() throws {
        let harness = try RouteHarness()
        let zip = try Self.noiseZip(files: 4, bytes: 10_000, at: harness.directory.path("noise.zip"))
        let disk = try #require(SmallDisk(bytes: 4 << 20, at: harness.service.configuration.datasetsDirectory))
        defer { disk.unmount() }
        let response = harness.call(.post, "/datasets", headers: ["Content-Type": "application/zip"],
                                    bytes: try Data(contentsOf: zip))
        #expect(response.status == 507 && response.errorCode == "insufficient_storage")
        let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("are free") && message.contains("free disk space"), "\(message)")
        #expect(try DatasetRouteTests.datasetFiles(harness).isEmpty)
    }

    /// The check is told 1 GiB is free (as if another writer filled the disk right after it); the real 1 MiB
    /// tmpfs then fills while the 640 KB of contents are written: ENOSPC becomes 507 and nothing stays.
    @Test(.enabled(if: SmallDisk.isAvailable, "needs root to mount a tmpfs"))
    func diskFillingWhileExtractingIs507AndLeavesNothing() throws {
        let harness = try RouteHarness()
        let zip = try Self.noiseZip(files: 10, bytes: 64_000, at: harness.directory.path("noise.zip"))
        let disk = try #require(SmallDisk(bytes: 1 << 20, at: harness.service.configuration.datasetsDirectory))
        defer { disk.unmount() }
        do {
            _ = try harness.service.importDatasetArchive(
                at: zip, name: nil, space: { _ in FileSystemSpace(availableBytes: 1 << 30, blockSize: 4096) })
            Issue.record("extracted 640 KB beside a 640 KB upload on a 1 MiB disk")
        } catch let error as ServiceError {
            #expect(error.message.contains("disk filled up") && error.message.contains("No space left"), "\(error.message)")
            try Self.expectRefusedWithNothingLeft(harness, error)
        }
    }
}

/// A tmpfs mounted over a folder for one test (root only): a real disk of a chosen, small size.
final class SmallDisk {
    let mountPoint: URL

    static let isAvailable: Bool = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-mount-probe-\(UUID().uuidString)")
        guard let probe = SmallDisk(bytes: 64 << 10, at: folder) else { return false }
        probe.unmount()
        try? FileManager.default.removeItem(at: folder)
        return true
    }()

    init?(bytes: Int, at mountPoint: URL) {
        self.mountPoint = mountPoint
        try? FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        guard Self.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", mountPoint.path]) else { return nil }
    }

    func unmount() { _ = Self.run("/usr/bin/umount", [mountPoint.path]) }

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
