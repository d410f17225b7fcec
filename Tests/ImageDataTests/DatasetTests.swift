// Dataset sources and their validation reports: ImageFolder layouts, IDX files (generated and the real
// Fashion-MNIST when installed), and the stratified split.
import CPNG
import Foundation
import Tensors
import Testing

@testable import ImageData

@Suite struct ImageFolderTests {
    static func writePNG(_ url: URL, side: Int = 32, value: UInt8 = 100) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try TestImages.png(width: side, height: side, format: UInt32(PNG_FORMAT_GRAY), pixels: [UInt8](repeating: value, count: side * side))
            .write(to: url)
    }

    static func writeJPEG(_ url: URL, side: Int = 32) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try TestImages.jpeg(TestImages.gradient(width: side, height: side, channels: 3)).write(to: url)
    }

    @Test func classesCountsAndSkippedFilesWithReasons() throws {
        let root = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        for i in 0..<6 { try Self.writePNG(root.appendingPathComponent("apples/\(i).png")) }
        for i in 0..<5 { try Self.writeJPEG(root.appendingPathComponent("pears/nested/\(i).JPG")) }
        try Data("notes".utf8).write(to: root.appendingPathComponent("pears/notes.txt"))
        try Self.writePNG(root.appendingPathComponent("pears/.hidden.png"))
        try Data().write(to: root.appendingPathComponent("pears/empty.jpg"))
        let jpeg = TestImages.jpeg(TestImages.noise(width: 64, height: 64, channels: 3, seed: 1))
        try jpeg.prefix(jpeg.count / 2).write(to: root.appendingPathComponent("pears/cut.jpg"))
        try Data("text".utf8).write(to: root.appendingPathComponent("pears/fake.jpg"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("plums"), withIntermediateDirectories: true)
        try Self.writePNG(root.appendingPathComponent("stray.png"))
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent("apples/link.png"), withDestinationURL: root.appendingPathComponent("stray.png"))
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("etc"), withDestinationURL: URL(fileURLWithPath: "/etc"))

        let loaded = try ImageFolderSource().load(root)
        #expect(loaded.validation == nil)
        #expect(loaded.training.classNames == ["apples", "pears", "plums"])
        #expect(loaded.training.classCounts == [6, 5, 0])
        #expect(loaded.training.samples.first?.name == "apples/0.png")
        let report = loaded.report
        #expect(report.imageCount == 11)
        let reasons = Dictionary(uniqueKeysWithValues: report.skipped.map { ($0.path, $0.reason) })
        #expect(reasons["pears/notes.txt"] == "not an image file (.txt)")
        #expect(reasons["pears/.hidden.png"] == "hidden file")
        #expect(reasons["pears/empty.jpg"]?.contains("empty") == true)
        #expect(reasons["pears/cut.jpg"]?.contains("truncated") == true)
        #expect(reasons["pears/fake.jpg"]?.contains("not a supported image") == true)
        #expect(reasons["stray.png"] == "not inside a class folder")
        #expect(reasons["apples/link.png"] == "symbolic link (not followed)")
        #expect(reasons["etc"] == "symbolic link (not followed)")
        #expect(report.errors.map(\.code) == ["empty_class"])
        #expect(report.errors.first?.className == "plums")
        #expect(!report.isUsable)
    }

    @Test func explicitTrainAndValFolders() throws {
        let root = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        for i in 0..<5 {
            try Self.writePNG(root.appendingPathComponent("data/train/a/\(i).png"))
            try Self.writePNG(root.appendingPathComponent("data/train/b/\(i).png"))
        }
        try Self.writePNG(root.appendingPathComponent("data/val/a/0.png"))
        try Self.writePNG(root.appendingPathComponent("data/val/b/0.png"))
        try Self.writePNG(root.appendingPathComponent("data/val/b/1.png"))
        let loaded = try ImageFolderSource().load(root)
        #expect(loaded.training.classCounts == [5, 5])
        #expect(loaded.validation?.classCounts == [1, 2])
        #expect(loaded.report.classes.map(\.validationCount) == [1, 2])
        #expect(loaded.report.imageCount == 13)
        #expect(loaded.report.isUsable)
        #expect(loaded.training.identifier != loaded.validation?.identifier)
    }

    @Test func warningsForFewImagesImbalanceAndTinyImages() throws {
        let root = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        for i in 0..<44 { try Self.writePNG(root.appendingPathComponent("many/\(i).png"), side: 8) }
        for i in 0..<4 { try Self.writePNG(root.appendingPathComponent("few/\(i).png")) }
        let source = ImageFolderSource()
        let report = try source.load(root).report
        #expect(Set(report.warnings.map(\.code)) == ["few_images", "class_imbalance", "tiny_images"])
        #expect(report.warnings.first { $0.code == "few_images" }?.className == "few")
        #expect(report.warnings.first { $0.code == "tiny_images" }?.message.hasPrefix("44 image(s)") == true)
        #expect(report.isUsable)
    }

    @Test func oneClassIsAnError() throws {
        let root = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        for i in 0..<5 { try Self.writePNG(root.appendingPathComponent("only/\(i).png")) }
        let report = try ImageFolderSource().load(root).report
        #expect(report.errors.map(\.code) == ["too_few_classes"])
    }

    @Test func reportEncodesAsSnakeCaseJSON() throws {
        var report = ValidationReport()
        report.summarise(classNames: ["a"], counts: [3], validationCounts: [0], tinyImages: [], rules: ValidationRules())
        report.skipped = [.init(path: "x.txt", reason: "not an image file (.txt)")]
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as! [String: Any]
        #expect(Set(json.keys) == ["classes", "image_count", "skipped", "warnings", "errors", "usable"])
        #expect(json["usable"] as? Bool == false)
        let firstClass = (json["classes"] as! [[String: Any]])[0]
        #expect(firstClass["validation_count"] as? Int == 0)
        let warning = (json["warnings"] as! [[String: Any]])[0]
        #expect(warning["class_name"] as? String == "a")
        #expect(try JSONDecoder().decode(ValidationReport.self, from: JSONEncoder().encode(report)) == report)
    }

    @Test func missingFolderThrows() {
        #expect(throws: ImageDataError.self) { try ImageFolderSource().load(URL(fileURLWithPath: "/nonexistent/graft")) }
    }
}

@Suite struct IDXTests {
    /// 7 images of 2×3 whose pixels encode (image, position), labels 0,1,2,0,1,2,2.
    static let labels: [UInt8] = [0, 1, 2, 0, 1, 2, 2]
    static func imageBytes() -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 3]
        for n in 0..<7 { for p in 0..<6 { bytes.append(UInt8(n * 10 + p)) } }
        return bytes
    }
    static func labelBytes() -> [UInt8] { [0, 0, 8, 1, 0, 0, 0, 7] + labels }

    @Test(arguments: [false, true])
    func generatedFilesParse(gzipped: Bool) throws {
        let folder = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let images = folder.appendingPathComponent("images.idx"), labels = folder.appendingPathComponent("labels.idx")
        try (gzipped ? TestArchives.gzip(Self.imageBytes()) : Data(Self.imageBytes())).write(to: images)
        try (gzipped ? TestArchives.gzip(Self.labelBytes()) : Data(Self.labelBytes())).write(to: labels)
        let all = try IDXDataset.load(images: images, labels: labels, classNames: ["zero", "one", "two"])
        #expect(all.count == 7 && all.labels == Self.labels.map(Int.init))
        let third = try all.loadImage(at: 3)
        #expect(third.width == 3 && third.height == 2 && third.channels == 1 && third.pixels == [30, 31, 32, 33, 34, 35])
        // Subset [2, 0] renumbers 2 → 0 and 0 → 1; a limit of 2 keeps the first two of each in file order.
        let subset = try IDXDataset.load(images: images, labels: labels, classNames: ["zero", "one", "two"], classes: [2, 0], perClassLimit: 2)
        #expect(subset.classNames == ["two", "zero"])
        #expect(subset.samples.map(\.name) == ["images.idx[0]", "images.idx[2]", "images.idx[3]", "images.idx[5]"])
        #expect(subset.labels == [1, 0, 1, 0])
        #expect(subset.identifier != all.identifier)
    }

    @Test func malformedFilesAreRejected() throws {
        var badMagic = Self.imageBytes()
        badMagic[0] = 1
        #expect(throws: ImageDataError.self) { try IDXArray.parse(Data(badMagic), name: "x") }
        var floats = Self.imageBytes()
        floats[2] = 0x0D
        #expect(throws: ImageDataError.self) { try IDXArray.parse(Data(floats), name: "x") }
        #expect(throws: ImageDataError.self) { try IDXArray.parse(Data(Self.imageBytes().dropLast()), name: "x") }
        #expect(throws: ImageDataError.self) { try IDXArray.parse(Data([0, 0, 8]), name: "x") }
        // 2^31 × 2^31 declared: refused from the header, nothing allocated.
        #expect(throws: ImageDataError.self) { try IDXArray.parse(Data([0, 0, 8, 2, 0x80, 0, 0, 0, 0x80, 0, 0, 0]), name: "x") }
        #expect(throws: ImageDataError.self) { try IDXArray.parse(TestArchives.gzip(Self.imageBytes()).prefix(20), name: "x") }
        let images = try IDXArray.parse(Data(Self.imageBytes()), name: "i")
        let shortLabels = try IDXArray.parse(Data([0, 0, 8, 1, 0, 0, 0, 6] + Self.labels.prefix(6)), name: "l")
        #expect(throws: ImageDataError.self) {
            try IDXDataset.make(images: images, labels: shortLabels, imagesName: "i", identifier: "t")
        }
        let labels = try IDXArray.parse(Data(Self.labelBytes()), name: "l")
        #expect(throws: ImageDataError.self) {
            try IDXDataset.make(images: images, labels: labels, imagesName: "i", identifier: "t", classes: [0, 5])
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")))
    func realFashionMNISTClassesFiveToNine() throws {
        let dataset = try IDXDataset.fashionMNIST(split: "train", classes: Array(5...9), perClassLimit: 100)
        #expect(dataset.classNames == ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
        #expect(dataset.classCounts == [100, 100, 100, 100, 100])
        // The first training image of Fashion-MNIST is an ankle boot.
        #expect(dataset.samples[0].name == "train-images-idx3-ubyte.gz[0]" && dataset.samples[0].label == 4)
        let image = try dataset.loadImage(at: 0)
        #expect(image.width == 28 && image.height == 28 && image.channels == 1)
        #expect(image.pixels.contains { $0 > 200 } && image.pixels.contains(0))
        let report = IDXDataset.report(for: dataset)
        #expect(report.isUsable && report.warnings.isEmpty && report.imageCount == 500)
        let test = try IDXDataset.fashionMNIST(split: "t10k")
        #expect(test.count == 10_000 && test.classCounts.allSatisfy { $0 == 1000 })
    }
}

@Suite struct SplitTests {
    static let labels = Array(repeating: 0, count: 50) + Array(repeating: 1, count: 20) + [2, 2] + [3]

    @Test func stratifiedByClassDisjointAndComplete() {
        let split = DatasetSplit.stratified(labels: Self.labels, validationFraction: 0.2, seed: 11)
        #expect(Set(split.training).isDisjoint(with: split.validation))
        #expect((split.training + split.validation).sorted() == Array(Self.labels.indices))
        let validationCounts = [0, 1, 2, 3].map { c in split.validation.filter { Self.labels[$0] == c }.count }
        #expect(validationCounts == [10, 4, 1, 0])  // a single-sample class stays in training
    }

    @Test func seededAndReproducible() {
        let a = DatasetSplit.stratified(labels: Self.labels, validationFraction: 0.3, seed: 1)
        let b = DatasetSplit.stratified(labels: Self.labels, validationFraction: 0.3, seed: 1)
        let c = DatasetSplit.stratified(labels: Self.labels, validationFraction: 0.3, seed: 2)
        #expect(a == b)
        #expect(a != c)
        let none = DatasetSplit.stratified(labels: Self.labels, validationFraction: 0, seed: 1)
        #expect(none.validation.isEmpty && none.training.count == Self.labels.count)
    }

    @Test func shuffleIsAPermutationWithAFixedOrder() {
        var generator = SeededGenerator(seed: 5)
        var items = Array(0..<100)
        DatasetSplit.shuffle(&items, using: &generator)
        #expect(items.sorted() == Array(0..<100) && items != Array(0..<100))
        var again = Array(0..<100)
        var generator2 = SeededGenerator(seed: 5)
        DatasetSplit.shuffle(&again, using: &generator2)
        #expect(items == again)
    }
}

@Suite struct DatasetSourceTests {
    @Test func everySourceKindLoadsThroughOneEntryPoint() throws {
        let folder = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for i in 0..<6 {
            try ImageFolderTests.writePNG(folder.appendingPathComponent("tree/a/\(i).png"))
            try ImageFolderTests.writePNG(folder.appendingPathComponent("tree/b/\(i).png"))
        }
        let loader = DatasetLoader()
        let fromFolder = try loader.load(.folder(folder.appendingPathComponent("tree")))
        #expect(fromFolder.training.classCounts == [6, 6])

        let png = [UInt8](try Data(contentsOf: folder.appendingPathComponent("tree/a/0.png")))
        let archive = folder.appendingPathComponent("up.tar.gz")
        TestArchives.write(
            (0..<3).flatMap { i in [TestArchives.Entry(path: "x/\(i).png", type: .file(png)), .init(path: "y/\(i).png", type: .file(png))] },
            kind: .tarGz, to: archive)
        let fromArchive = try loader.load(.archive(archive, extractTo: folder.appendingPathComponent("up")))
        #expect(fromArchive.training.classNames == ["x", "y"])
        #expect(fromArchive.report.warnings.map(\.code) == ["few_images", "few_images"])

        let images = folder.appendingPathComponent("i.idx"), labels = folder.appendingPathComponent("l.idx")
        try Data(IDXTests.imageBytes()).write(to: images)
        try Data(IDXTests.labelBytes()).write(to: labels)
        let fromIDX = try loader.load(.idx(images: images, labels: labels, classNames: nil, classes: [1, 2], perClassLimit: nil))
        #expect(fromIDX.training.classNames == ["1", "2"] && fromIDX.training.classCounts == [2, 3])
        #expect(fromIDX.report.errors.isEmpty && fromIDX.report.warnings.map(\.code).contains("tiny_images"))
    }

    @Test func trainingAndValidationUsesTheExplicitSplitOrAStratifiedOne() throws {
        let samples = (0..<20).map { Sample(label: $0 % 2, source: .pixels(ByteImage(width: 1, height: 1, channels: 1)), name: "s\($0)") }
        let dataset = Dataset(identifier: "d", classNames: ["a", "b"], samples: samples)
        let loaded = LoadedDataset(training: dataset, validation: nil, report: ValidationReport())
        let (training, validation) = loaded.trainingAndValidation(validationFraction: 0.2, seed: 3)
        #expect(training.classCounts == [8, 8] && validation.classCounts == [2, 2])
        #expect(training.identifier != validation.identifier && training.identifier.hasPrefix("d#"))
        let explicit = LoadedDataset(training: dataset, validation: dataset.subset([0, 1]), report: ValidationReport())
        #expect(explicit.trainingAndValidation(validationFraction: 0.2, seed: 3).validation.count == 2)
        #expect(explicit.trainingAndValidation(validationFraction: 0.2, seed: 3).training.count == 20)
    }
}
