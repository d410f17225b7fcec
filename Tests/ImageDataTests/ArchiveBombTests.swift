// Archives built to exhaust the disk: refused from their headers before a byte is written, cut off when their
// headers lie, refused when the disk is too small, and cleaned up when it fills during writing; special entries
// skipped the same way in zip and tar.
import CPNG
import Foundation
import Testing

@testable import ImageData

@Suite struct ArchiveBombTests {
    static let png = ArchiveTests.png

    /// Runs `body` with a fresh folder, removed afterwards.
    private func inFolder(_ name: String = #function, _ body: (URL) throws -> Void) rethrows {
        let folder = TestImages.temporaryFolder(name)
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(folder)
    }

    @Test func centralDirectoryDeclaringAHugeTotalIsRefusedWithNothingWritten() throws {
        try inFolder { folder in
            // 45 × 200 MB (9 GB, each under the 256 MiB file cap) declared by a 4 KB zip; the first member is an
            // honest image.
            var members = [TestArchives.ZipMember(path: "cats/a.png", data: [UInt8](Self.png))]
            for index in 0..<45 {
                members.append(.init(path: "cats/bomb\(index).png", data: [UInt8](repeating: 0, count: 64),
                                     deflated: true, declaredSize: 200_000_000))
            }
            let archive = folder.appendingPathComponent("bomb.zip")
            try TestArchives.zip(members).write(to: archive)
            let probe = SpaceProbeRecorder()
            let destination = folder.appendingPathComponent("out/extracted")
            #expect(throws: ImageDataError.archiveLimitExceeded(
                archive: "bomb.zip", reason: "contents expand to more than \(8 << 30) bytes")) {
                try ArchiveExtractor.extract(archive, to: destination, space: probe.probe)
            }
            #expect(probe.calls == 0)
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path),
                    "not even the honest first member was written")
        }
    }

    @Test func memberInflatingPastItsDeclaredSizeIsCutOffAndRemoved() throws {
        try inFolder { folder in
            // 4 MiB of zeros deflate to 4 KB; the headers claim 1000 bytes, so the totals look harmless.
            let members = [
                TestArchives.ZipMember(path: "cats/a.png", data: [UInt8](Self.png)),
                .init(path: "cats/liar.png", data: [UInt8](repeating: 0, count: 4 << 20), deflated: true,
                      declaredSize: 1000),
            ]
            let archive = folder.appendingPathComponent("liar.zip")
            try TestArchives.zip(members).write(to: archive)
            let destination = folder.appendingPathComponent("extracted")
            #expect {
                try ArchiveExtractor.extract(archive, to: destination)
            } throws: { error in
                guard case .unreadableArchive(let name, let reason) = error as? ImageDataError else { return false }
                return name == "liar.zip" && reason.contains("'cats/liar.png' holds more than the 1000 bytes")
            }
            #expect(!FileManager.default.fileExists(atPath: destination.path), "partial output left behind")
        }
    }

    /// The same liar extracted onto a 128 KiB tmpfs: had more than the declared 1000 bytes reached the disk,
    /// the 4 MiB member would have filled it and the error would be a full disk instead.
    @Test(.enabled(if: TinyDisk.isAvailable, "needs root to mount a tmpfs"))
    func liarNeverWritesMoreThanItDeclaredOnARealSmallDisk() throws {
        let disk = try #require(TinyDisk(bytes: 128 << 10))
        defer { disk.unmount() }
        try inFolder { folder in
            let archive = folder.appendingPathComponent("liar.zip")
            try TestArchives.zip([.init(path: "cats/liar.png", data: [UInt8](repeating: 0, count: 4 << 20),
                                        deflated: true, declaredSize: 1000)]).write(to: archive)
            var limits = ArchiveLimits()
            limits.freeSpaceMargin = 0
            #expect {
                try ArchiveExtractor.extract(archive, to: disk.mountPoint.appendingPathComponent("x"), limits: limits)
            } throws: { error in
                if case .unreadableArchive = error as? ImageDataError { return true }
                return false
            }
            #expect(disk.contents.isEmpty)
        }
    }

    @Test(arguments: [TestArchives.Kind.zip, .tarGz])
    func tooManyEntriesAreRefusedBeforeAnyFileIsCreated(kind: TestArchives.Kind) throws {
        inFolder { folder in
            let archive = folder.appendingPathComponent("many.\(kind.rawValue)")
            TestArchives.write((0..<2001).map { .init(path: "cats/\($0).png", type: .file([])) }, kind: kind, to: archive)
            let probe = SpaceProbeRecorder()
            let destination = folder.appendingPathComponent("out/extracted")
            #expect(throws: ImageDataError.archiveLimitExceeded(archive: archive.lastPathComponent,
                                                                reason: "it has more than 2000 entries")) {
                try ArchiveExtractor.extract(archive, to: destination, limits: ArchiveLimits(maximumEntries: 2000),
                                             space: probe.probe)
            }
            #expect(probe.calls == 0, "refused in the first pass")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path), "0 files written")
        }
    }

    @Test func highlyCompressibleContentsAreACompressionBomb() throws {
        try inFolder { folder in
            let archive = folder.appendingPathComponent("zeros.tar.gz")
            TestArchives.write([.init(path: "cats/big.png", type: .zeros(80 << 20))], kind: .tarGz, to: archive)
            let size = try #require(try FileManager.default.attributesOfItem(atPath: archive.path)[.size] as? Int)
            #expect(size < 1 << 20, "80 MiB of zeros gzip to \(size) bytes")
            #expect {
                try ArchiveExtractor.extract(archive, to: folder.appendingPathComponent("out"))
            } throws: { error in
                guard case .archiveLimitExceeded(_, let reason) = error as? ImageDataError else { return false }
                return reason.contains("expand to \(80 << 20), more than 50 times") && reason.contains("compression bomb")
            }
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path))
        }
    }

    // MARK: - Free space

    @Test func tooLittleFreeSpaceIsRefusedNamingBothFigures() throws {
        inFolder { folder in
            let archive = folder.appendingPathComponent("pets.tar")
            TestArchives.write((0..<4).map { .init(path: "cats/\($0).png", type: .zeros(10_000)) }, kind: .tar, to: archive)
            var limits = ArchiveLimits()
            limits.freeSpaceMargin = 1 << 20
            // 4 files of 10 000 bytes in 4 KiB blocks = 49 152, plus a block for each folder (the destination
            // and cats/), plus the 1 MiB margin.
            let probe = SpaceProbeRecorder(override: FileSystemSpace(availableBytes: 1_000_000, blockSize: 4096))
            let destination = folder.appendingPathComponent("out/extracted")
            let expected = ImageDataError.insufficientSpace(
                archive: "pets.tar", path: folder.appendingPathComponent("out").path,
                needed: 49_152 + 2 * 4096 + (1 << 20), available: 1_000_000)
            #expect(throws: expected) {
                try ArchiveExtractor.extract(archive, to: destination, limits: limits, space: probe.probe)
            }
            #expect(expected.description.contains("needs 1105920 bytes (1.1 MiB)"))
            #expect(expected.description.contains("only 1000000 bytes (976.6 KiB) are free"))
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path))
        }
    }

    @Test(.enabled(if: TinyDisk.isAvailable, "needs root to mount a tmpfs"))
    func tooLittleFreeSpaceOnARealSmallDisk() throws {
        let disk = try #require(TinyDisk(bytes: 256 << 10))
        defer { disk.unmount() }
        inFolder { folder in
            let archive = folder.appendingPathComponent("noise.tar")
            let noise = TestImages.noise(width: 256, height: 256, channels: 3, seed: 3).pixels  // 192 KiB
            TestArchives.write([.init(path: "cats/a.png", type: .file(noise)), .init(path: "cats/b.png", type: .file(noise))],
                               kind: .tar, to: archive)
            var limits = ArchiveLimits()
            limits.freeSpaceMargin = 0
            #expect {
                try ArchiveExtractor.extract(archive, to: disk.mountPoint.appendingPathComponent("x"), limits: limits)
            } throws: { error in
                guard case .insufficientSpace(_, _, let needed, let available) = error as? ImageDataError else { return false }
                return needed > 2 * noise.count && available <= 256 << 10
            }
            #expect(disk.contents.isEmpty)
        }
    }

    /// The check passed (the probe says 1 GiB is free, as if another writer filled the disk just after it),
    /// then the real 256 KiB tmpfs fills while writing: ENOSPC becomes `diskFull` and nothing is left behind.
    @Test(.enabled(if: TinyDisk.isAvailable, "needs root to mount a tmpfs"))
    func diskFillingDuringExtractionIsDiskFullAndLeavesNothing() throws {
        let disk = try #require(TinyDisk(bytes: 256 << 10))
        defer { disk.unmount() }
        inFolder { folder in
            let archive = folder.appendingPathComponent("noise.zip")
            let noise = TestImages.noise(width: 256, height: 256, channels: 3, seed: 4).pixels
            TestArchives.write((0..<4).map { .init(path: "cats/\($0).png", type: .file(noise)) }, kind: .zip, to: archive)
            let optimist = SpaceProbeRecorder(override: FileSystemSpace(availableBytes: 1 << 30, blockSize: 4096))
            let destination = disk.mountPoint.appendingPathComponent("extracted")
            #expect {
                try ArchiveExtractor.extract(archive, to: destination, space: optimist.probe)
            } throws: { error in
                guard case .diskFull(let path, let reason) = error as? ImageDataError else { return false }
                return path.hasPrefix(destination.path) && reason.contains("No space left")
            }
            #expect(disk.contents.isEmpty, "left behind: \(disk.contents)")
        }
    }

    // MARK: - Entries that are neither files nor folders

    /// Links, pipes and devices are skipped and reported, never created, whichever format carries them.
    @Test(arguments: ["zip", "tar"])
    func specialEntriesAreSkippedAndReportedTheSameInZipAndTar(format: String) throws {
        try inFolder { folder in
            let archive = folder.appendingPathComponent("pets.\(format)")
            var images: [(String, [UInt8])] = []
            for name in ["cats", "dogs"] { for i in 0..<5 { images.append(("pets/\(name)/\(i).png", [UInt8](Self.png))) } }
            let special: [(path: String, mode: UInt32, entry: TestArchives.EntryType)] = [
                ("pets/cats/pipe.png", 0o010644, .fifo),
                ("pets/cats/tty.png", 0o020644, .characterDevice),
                ("pets/dogs/passwd.png", 0o120777, .symlink("/etc/passwd")),
            ]
            if format == "zip" {
                var members = images.map { TestArchives.ZipMember(path: $0.0, data: $0.1) }
                for item in special {
                    // Info-ZIP keeps a link's target as the member's data.
                    let data = item.mode >> 12 == 0o12 ? Array("/etc/passwd".utf8) : []
                    members.append(.init(path: item.path, data: data, mode: item.mode))
                }
                try TestArchives.zip(members).write(to: archive)
            } else {
                var entries = images.map { TestArchives.Entry(path: $0.0, type: .file($0.1)) }
                entries += special.map { TestArchives.Entry(path: $0.path, type: $0.entry) }
                entries.append(.init(path: "pets/dogs/copy.png", type: .hardlink("pets/dogs/0.png")))
                TestArchives.write(entries, kind: .tar, to: archive)
            }
            let destination = folder.appendingPathComponent("extracted")
            var loader = DatasetLoader()
            loader.folder.rules.minimumImageSide = 2
            let loaded = try loader.load(.archive(archive, extractTo: destination))
            #expect(loaded.training.classCounts == [5, 5])
            let skipped = Dictionary(uniqueKeysWithValues: loaded.report.skipped.map { ($0.path, $0.reason) })
            #expect(skipped["pets/cats/pipe.png"] == "named pipe (FIFO) in the archive (not extracted)")
            #expect(skipped["pets/cats/tty.png"] == "device node in the archive (not extracted)")
            #expect(skipped["pets/dogs/passwd.png"] == "symbolic link in the archive (not extracted)")
            if format == "tar" { #expect(skipped["pets/dogs/copy.png"] == "hard link in the archive (not extracted)") }
            for item in special {
                let path = destination.appendingPathComponent(item.path).path
                #expect((try? FileManager.default.attributesOfItem(atPath: path)) == nil, "\(item.path) was created")
            }
        }
    }
}
