// Safe archive extraction: a table of hostile archives, each refused by the first pass with the right error and
// nothing written, and a friendly archive that becomes a dataset.
import CPNG
import Foundation
import Testing

@testable import ImageData

@Suite struct ArchiveTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var kind: TestArchives.Kind
        var entries: @Sendable () -> [TestArchives.Entry]
        var limits = ArchiveLimits()
        /// "unsafe:<reason fragment>", "limit:<reason fragment>" or "unreadable".
        var expected: String
        var description: String { "\(name) (\(kind.rawValue))" }
    }

    static let png = [UInt8](TestImages.png(width: 4, height: 4, format: UInt32(PNG_FORMAT_GRAY), pixels: [UInt8](repeating: 9, count: 16)))

    static let hostile: [Case] = [
        Case(name: "parent traversal", kind: .zip, entries: { [.init(path: "../evil.txt", type: .file([1]))] }, expected: "unsafe:'..'"),
        Case(name: "nested traversal", kind: .tarGz, entries: {
            [.init(path: "cats/a.png", type: .file(png)), .init(path: "cats/../../evil.txt", type: .file([1]))]
        }, expected: "unsafe:'..'"),
        Case(name: "absolute path", kind: .tar, entries: { [.init(path: "/tmp/graft-evil.txt", type: .file([1]))] }, expected: "unsafe:absolute"),
        Case(name: "duplicate entry", kind: .tar, entries: {
            [.init(path: "cats/a.png", type: .file(png)), .init(path: "cats/a.png", type: .file([0]))]
        }, expected: "unsafe:appears twice"),
        Case(name: "file then folder of the same name", kind: .zip, entries: {
            [.init(path: "cats", type: .file([1])), .init(path: "cats/a.png", type: .file(png))]
        }, expected: "unsafe:which is a file"),
        Case(name: "single-file bomb", kind: .zip, entries: { [.init(path: "cats/huge.png", type: .zeros(4 << 20))] },
            limits: ArchiveLimits(maximumFileSize: 1 << 20), expected: "limit:larger than"),
        Case(name: "total-size bomb", kind: .tarGz, entries: {
            (0..<8).map { .init(path: "cats/\($0).png", type: .zeros(512 << 10)) }
        }, limits: ArchiveLimits(maximumFileSize: 1 << 20, maximumTotalSize: 2 << 20), expected: "limit:more than 2097152 bytes"),
        Case(name: "thousands of empty files", kind: .zip, entries: {
            (0..<3000).map { .init(path: "cats/\($0).png", type: .file([])) }
        }, limits: ArchiveLimits(maximumEntries: 1000), expected: "limit:more than 1000 entries"),
        Case(name: "overlong path", kind: .tar, entries: {
            [.init(path: String(repeating: "a/", count: 600) + "x.png", type: .file([1]))]
        }, expected: "unsafe:longer than"),
    ]

    @Test(arguments: hostile)
    func hostileArchiveIsRefused(_ testCase: Case) throws {
        let folder = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = folder.appendingPathComponent("upload.\(testCase.kind.rawValue)")
        TestArchives.write(testCase.entries(), kind: testCase.kind, to: archive)
        let destination = folder.appendingPathComponent("out/extracted")
        let probe = SpaceProbeRecorder()
        do {
            try ArchiveExtractor.extract(archive, to: destination, limits: testCase.limits, space: probe.probe)
            Issue.record("\(testCase) was extracted")
        } catch let error as ImageDataError {
            let (kind, fragment) = testCase.expected.split(separator: ":", maxSplits: 1).map(String.init).pair
            switch error {
            case .unsafeArchiveEntry(let name, _, let reason):
                #expect(kind == "unsafe" && name == archive.lastPathComponent, "\(testCase): \(error)")
                #expect(reason.contains(fragment), "\(testCase): \(reason)")
            case .archiveLimitExceeded(_, let reason):
                #expect(kind == "limit", "\(testCase): \(error)")
                #expect(reason.contains(fragment), "\(testCase): \(reason)")
            default:
                Issue.record("\(testCase): unexpected \(error)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path), "partial extraction left behind")
        // Every one of these is refused by the first pass: the free space was never asked for and not even the
        // destination's parent was created, so not a byte was written.
        #expect(probe.calls == 0, "\(testCase) reached the writing pass")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/evil.txt").path))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("evil.txt").path))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/graft-evil.txt"))
    }

    @Test func notAnArchive() throws {
        let folder = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("photos.zip")
        try Data("hello, I am text".utf8).write(to: file)
        #expect {
            try ArchiveExtractor.extract(file, to: folder.appendingPathComponent("x"))
        } throws: { error in
            if case .unreadableArchive(let name, _) = error as? ImageDataError { return name == "photos.zip" }
            return false
        }
    }

    @Test(arguments: [TestArchives.Kind.zip, .tar, .tarGz])
    func friendlyArchiveBecomesADataset(kind: TestArchives.Kind) throws {
        let folder = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let archive = folder.appendingPathComponent("pets.\(kind.rawValue)")
        var entries: [TestArchives.Entry] = [.init(path: "pets/", type: .folder), .init(path: "pets/cats/", type: .folder)]
        for i in 0..<5 { entries.append(.init(path: "pets/cats/\(i).png", type: .file(Self.png))) }
        for i in 0..<6 { entries.append(.init(path: "./pets/dogs/\(i).png", type: .file(Self.png))) }
        entries.append(.init(path: "pets/dogs/.DS_Store", type: .file([0, 1])))
        entries.append(.init(path: "__MACOSX/pets/._cats", type: .file([0])))
        entries.append(.init(path: "pets/README.txt", type: .file(Array("hi".utf8))))
        TestArchives.write(entries, kind: kind, to: archive)
        let destination = folder.appendingPathComponent("extracted")
        let summary = try ArchiveExtractor.extract(archive, to: destination)
        #expect(summary.files == 14)
        var source = ImageFolderSource()
        source.rules.minimumImageSide = 2
        let loaded = try source.load(destination)
        #expect(loaded.training.classNames == ["cats", "dogs"])
        #expect(loaded.training.classCounts == [5, 6])
        #expect(loaded.report.isUsable)
        let skipped = Dictionary(uniqueKeysWithValues: loaded.report.skipped.map { ($0.path, $0.reason) })
        #expect(skipped["dogs/.DS_Store"] == "hidden file")
        #expect(skipped["README.txt"] == "not inside a class folder")
    }
}

private extension Array where Element == String {
    var pair: (String, String) { (self[0], count > 1 ? self[1] : "") }
}

/// A free-space probe that answers from the real file system and counts how often it was asked: the extractor
/// asks once, between reading every header and writing the first byte.
final class SpaceProbeRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    /// What to report instead of the truth, if set.
    let override: FileSystemSpace?

    init(override: FileSystemSpace? = nil) { self.override = override }

    var calls: Int { lock.withLock { count } }

    var probe: ArchiveExtractor.SpaceProbe {
        { [self] url in
            lock.withLock { count += 1 }
            return try override ?? FileSystemSpace.of(url)
        }
    }
}
