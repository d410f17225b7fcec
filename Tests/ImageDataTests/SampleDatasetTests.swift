// End to end: scripts/make-sample-dataset's zip goes through safe extraction and the ImageFolder source, and
// its pixels equal the Fashion-MNIST IDX images they came from.
import Foundation
import Testing

@testable import ImageData

@Suite struct SampleDatasetTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/make-sample-dataset")
    static let available = FileManager.default.isExecutableFile(atPath: script.path)
        && FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    @Test(.enabled(if: available))
    func sampleZipIsFiveClassesOfTheRightImages() throws {
        let folder = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script.path, "--out", folder.path, "--per-class", "20", "--heldout", "2"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        let extracted = folder.appendingPathComponent("extracted")
        try ArchiveExtractor.extract(folder.appendingPathComponent("fashion-5-9.zip"), to: extracted)
        let loaded = try ImageFolderSource().load(extracted)
        #expect(loaded.training.classNames == ["ankle-boot", "bag", "sandal", "shirt", "sneaker"])
        #expect(loaded.training.classCounts == [20, 20, 20, 20, 20])
        #expect(loaded.report.isUsable && loaded.report.warnings.isEmpty && loaded.report.skipped.isEmpty)

        let idx = try IDXDataset.fashionMNIST(split: "train", classes: [9], perClassLimit: 20)
        let fromZip = try loaded.training.loadImage(at: 0)  // ankle-boot/train-00000.png
        #expect(fromZip == (try idx.loadImage(at: 0)))
        let heldout = try ImageFolderSource().load(folder.appendingPathComponent("fashion-5-9-heldout"))
        #expect(heldout.training.classCounts == [2, 2, 2, 2, 2])
    }
}
