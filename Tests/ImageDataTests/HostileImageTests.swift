// Broken and hostile image files: each gives a typed error with a reason, never a crash or a huge allocation.
import CPNG
import Foundation
import Tensors
import Testing

@testable import ImageData

@Suite struct HostileImageTests {
    private let jpeg = TestImages.jpeg(TestImages.noise(width: 64, height: 64, channels: 3, seed: 9), quality: 90)
    private let png = TestImages.png(
        width: 32, height: 32, format: UInt32(PNG_FORMAT_RGB),
        pixels: TestImages.noise(width: 32, height: 32, channels: 3, seed: 10).pixels)

    @Test func zeroBytes() {
        #expect(throws: ImageDataError.emptyFile(file: "empty.jpg")) {
            try ImageDecoder.decode(Data(), fileName: "empty.jpg")
        }
    }

    @Test func textNamedJPG() throws {
        let folder = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("notes.jpg")
        try Data("this is not a photo\n".utf8).write(to: url)
        do {
            _ = try ImageDecoder.decode(contentsOf: url)
            Issue.record("decoding text succeeded")
        } catch let error as ImageDataError {
            guard case .unsupportedFormat(let file, let reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(file == "notes.jpg")
            #expect(reason.contains("text"))
            #expect(error.description.contains("notes.jpg"))
        }
    }

    @Test func truncatedJPEG() {
        let cut = jpeg.prefix(jpeg.count / 2)
        #expect {
            try ImageDecoder.decode(Data(cut), fileName: "cut.jpg")
        } throws: { error in
            guard case .truncated(let file, let reason) = error as? ImageDataError else { return false }
            return file == "cut.jpg" && !reason.isEmpty
        }
    }

    @Test func pngWithBadCRC() {
        var bytes = [UInt8](png)
        // Keep the IDAT payload intact and damage its CRC: the chunk no longer checks out.
        let idat = bytes.indices.first { bytes[$0..<min($0 + 4, bytes.count)].elementsEqual("IDAT".utf8) }!
        let length = bytes[(idat - 4)..<idat].reduce(0) { $0 << 8 | Int($1) }
        bytes[idat + 4 + length + 3] ^= 0x55
        #expect {
            try ImageDecoder.decode(Data(bytes), fileName: "bad.png")
        } throws: { error in
            guard case .corrupt(let file, let reason) = error as? ImageDataError else { return false }
            return file == "bad.png" && reason.uppercased().contains("CRC")
        }
    }

    @Test func truncatedPNG() {
        #expect(throws: ImageDataError.self) { try ImageDecoder.decode(Data(png.prefix(png.count - 40))) }
        #expect(throws: ImageDataError.self) { try ImageDecoder.decode(Data(png.prefix(20))) }
    }

    @Test(arguments: ["jpeg", "png"])
    func decompressionBombIsRefusedFromTheHeader(kind: String) {
        let data = kind == "jpeg"
            ? TestImages.jpegHeaderBomb(width: 50_000, height: 50_000)
            : TestImages.pngHeaderBomb(width: 50_000, height: 50_000)
        let expected = ImageDataError.tooManyPixels(
            file: "bomb", width: 50_000, height: 50_000, limit: DecodeOptions.defaultMaximumPixelCount)
        #expect(throws: expected) { try ImageDecoder.decode(data, fileName: "bomb") }
        #expect(throws: expected) { try ImageDecoder.header(data, fileName: "bomb") }
        // Even when scaled decoding would need only 1/8 of it, the declared size is what counts.
        #expect(throws: expected) {
            try ImageDecoder.decode(data, fileName: "bomb", options: DecodeOptions(minimumSize: (10, 10)))
        }
    }

    @Test func pixelCapIsASetting() throws {
        let small = TestImages.jpeg(TestImages.gradient(width: 100, height: 100, channels: 3))
        #expect(throws: ImageDataError.tooManyPixels(file: nil, width: 100, height: 100, limit: 9_999)) {
            try ImageDecoder.decode(small, options: DecodeOptions(maximumPixelCount: 9_999))
        }
        _ = try ImageDecoder.decode(small, options: DecodeOptions(maximumPixelCount: 10_000))
    }

    @Test func garbageAfterSignatures() {
        #expect(throws: ImageDataError.self) { try ImageDecoder.decode(Data([0xFF, 0xD8, 0xFF, 0x00, 0x01, 0x02])) }
        #expect(throws: ImageDataError.self) { try ImageDecoder.decode(Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0])) }
    }

    /// Every 13th prefix and a few hundred seeded byte corruptions of each file: decoding either succeeds with
    /// a consistent image or throws ImageDataError; nothing crashes.
    @Test func corruptedVariantsNeverCrash() {
        var generator = SeededGenerator(seed: 77)
        for original in [jpeg, png] {
            var variants: [Data] = stride(from: 0, to: original.count, by: 13).map { Data(original.prefix($0)) }
            for _ in 0..<300 {
                var bytes = [UInt8](original)
                for _ in 0..<(1 + Int(generator.next() % 4)) {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
                variants.append(Data(bytes))
            }
            for variant in variants {
                do {
                    let image = try ImageDecoder.decode(variant, options: DecodeOptions(maximumPixelCount: 1_000_000))
                    #expect(image.pixels.count == image.width * image.height * image.channels)
                } catch {
                    #expect(error is ImageDataError)
                }
            }
        }
    }
}

@Suite struct OrientationTests {
    /// Exif 2.3, tag 0x0112: where the stored row 0 and column 0 end up when displayed.
    private static let table: [(value: Int, row0: String, column0: String)] = [
        (1, "top", "left"), (2, "top", "right"), (3, "bottom", "right"), (4, "bottom", "left"),
        (5, "left", "top"), (6, "right", "top"), (7, "right", "bottom"), (8, "left", "bottom"),
    ]
    private static let opposite = ["top": "bottom", "bottom": "top", "left": "right", "right": "left"]

    /// 48×32 stored image, one flat colour per 24×16 quadrant.
    private static let corners: [String: [UInt8]] = [
        "TL": [250, 10, 10], "TR": [10, 250, 10], "BL": [10, 10, 250], "BR": [240, 240, 20],
    ]
    private static func stored() -> ByteImage {
        var pixels = [UInt8]()
        for y in 0..<32 {
            for x in 0..<48 { pixels += corners[(y < 16 ? "T" : "B") + (x < 24 ? "L" : "R")]! }
        }
        return ByteImage(width: 48, height: 32, channels: 3, pixels: pixels)
    }

    /// The displayed colour at a visual corner such as ("top", "left").
    private static func colour(_ image: ByteImage, vertical: String, horizontal: String) -> [UInt8] {
        let x = horizontal == "left" ? image.width / 4 : image.width * 3 / 4
        let y = vertical == "top" ? image.height / 4 : image.height * 3 / 4
        return Array(image[x, y])
    }

    /// The stored image as a JPEG or PNG file whose Exif data says `orientation`.
    private static func file(png: Bool, orientation: Int, bigEndian: Bool) -> Data {
        let image = stored()
        if png {
            let bytes = TestImages.png(width: image.width, height: image.height, format: UInt32(PNG_FORMAT_RGB), pixels: image.pixels)
            return TestImages.pngWithEXIF(bytes, orientation: orientation, bigEndian: bigEndian)
        }
        return TestImages.withEXIF(TestImages.jpeg(image, quality: 98), orientation: orientation, bigEndian: bigEndian)
    }

    @Test(arguments: [false, true], [false, true])
    func allEightOrientationsFollowTheExifTable(png: Bool, bigEndian: Bool) throws {
        for entry in Self.table {
            let file = Self.file(png: png, orientation: entry.value, bigEndian: bigEndian)
            let image = try ImageDecoder.decode(file)
            let swapped = entry.value >= 5
            #expect(image.width == (swapped ? 32 : 48) && image.height == (swapped ? 48 : 32), "orientation \(entry.value)")
            // Stored corner (row side, column side) → displayed on (row0 side or opposite, column0 side or opposite).
            for (name, expected) in Self.corners {
                let rowSide = name.hasPrefix("T") ? entry.row0 : Self.opposite[entry.row0]!
                let columnSide = name.hasSuffix("L") ? entry.column0 : Self.opposite[entry.column0]!
                let vertical = ["top", "bottom"].contains(rowSide) ? rowSide : columnSide
                let horizontal = ["left", "right"].contains(rowSide) ? rowSide : columnSide
                let found = Self.colour(image, vertical: vertical, horizontal: horizontal)
                #expect(TestImages.maxDifference(found, expected) <= (png ? 0 : 6), "orientation \(entry.value) corner \(name)")
            }
            let header = try ImageDecoder.header(file)
            #expect(header.width == image.width && header.height == image.height)
        }
    }

    /// PNGs written by Pillow with an eXIf chunk for each orientation decode to exactly the pixels Pillow's
    /// `ImageOps.exif_transpose` gives (fixtures and their script in `Fixtures/`).
    @Test(arguments: 1...8)
    func pngOrientationMatchesPillow(orientation: Int) throws {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let rotated = try ImageDecoder.decode(contentsOf: folder.appendingPathComponent("exif_\(orientation).png"))
        let upright = try ImageDecoder.decode(contentsOf: folder.appendingPathComponent("upright_\(orientation).png"))
        #expect(rotated == upright)
        #expect((rotated.width, rotated.height) == (orientation >= 5 ? (4, 6) : (6, 4)))
        let header = try ImageDecoder.header(Data(contentsOf: folder.appendingPathComponent("exif_\(orientation).png")))
        #expect((header.width, header.height) == (rotated.width, rotated.height))
    }

    @Test func orientationCanBeIgnoredAndDamagedExifIsHarmless() throws {
        let jpeg = TestImages.jpeg(Self.stored())
        let rotated = TestImages.withEXIF(jpeg, orientation: 6, bigEndian: true)
        let raw = try ImageDecoder.decode(rotated, options: DecodeOptions(appliesOrientation: false))
        #expect(raw.width == 48)
        // Value 9 is not an orientation; a truncated Exif body must not break the image either.
        #expect(try ImageDecoder.decode(TestImages.withEXIF(jpeg, orientation: 9, bigEndian: false)).width == 48)
        var cut = [UInt8](TestImages.withEXIF(jpeg, orientation: 6, bigEndian: false))
        cut[5] = 12  // APP1 length now covers only "Exif\0\0" and a few TIFF bytes
        #expect(cut.withUnsafeBytes { Orientation.fromJPEG($0) } == .topLeft)

        // The same for PNG's eXIf chunk: ignorable, and a value that is no orientation leaves the image as stored.
        let png = Self.file(png: true, orientation: 6, bigEndian: false)
        #expect(try ImageDecoder.decode(png, options: DecodeOptions(appliesOrientation: false)).width == 48)
        #expect(try ImageDecoder.decode(png).width == 32)
        #expect(try ImageDecoder.decode(Self.file(png: true, orientation: 0, bigEndian: true)).width == 48)
    }

    @Test func applyingMatchesPixelMapping() {
        // 3×2 image with distinct values; orientation 6 (rotate 90° clockwise) gives a 2×3 image.
        let image = ByteImage(width: 3, height: 2, channels: 1, pixels: [1, 2, 3, 4, 5, 6])
        #expect(image.applying(.rightTop).pixels == [4, 1, 5, 2, 6, 3])
        #expect(image.applying(.leftBottom).pixels == [3, 6, 2, 5, 1, 4])
        #expect(image.applying(.bottomRight).pixels == [6, 5, 4, 3, 2, 1])
        #expect(image.applying(.leftTop).pixels == [1, 4, 2, 5, 3, 6])
        #expect(image.applying(.rightBottom).pixels == [6, 3, 5, 2, 4, 1])
        for orientation in Orientation.allCases where orientation.rawValue <= 4 {
            #expect(image.applying(orientation).applying(orientation) == image)
        }
    }
}

@Suite struct ExifParserRobustnessTests {
    /// Random bytes written over the Exif segment and random segment lengths: the parser stays inside the
    /// buffer and answers with some orientation.
    @Test func randomisedExifBlocksNeverCrash() {
        let jpeg = TestImages.withEXIF(TestImages.jpeg(TestImages.gradient(width: 8, height: 8, channels: 1)), orientation: 6, bigEndian: false)
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<2000 {
            var bytes = [UInt8](jpeg)
            let changes = 1 + Int(generator.next() % 6)
            for _ in 0..<changes {
                // Target the APP1 header and TIFF body (bytes 2..<60) where the parser does its arithmetic.
                bytes[2 + Int(generator.next() % 58)] = UInt8(truncatingIfNeeded: generator.next())
            }
            let cut = Int(generator.next() % UInt64(bytes.count))
            let value = bytes.prefix(cut).withUnsafeBytes { Orientation.fromJPEG($0) }
            #expect(Orientation.allCases.contains(value))
        }
    }

    /// The same for a PNG's chunk walk: damaged chunk lengths and eXIf bodies, and files cut anywhere.
    @Test func randomisedPNGChunksNeverCrash() {
        let image = TestImages.gradient(width: 8, height: 8, channels: 3)
        let png = TestImages.pngWithEXIF(
            TestImages.png(width: 8, height: 8, format: UInt32(PNG_FORMAT_RGB), pixels: image.pixels), orientation: 6, bigEndian: true)
        #expect(png.withUnsafeBytes { Orientation.fromPNG($0) } == .rightTop)
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            var bytes = [UInt8](png)
            for _ in 0..<(1 + Int(generator.next() % 6)) {
                // IHDR and the eXIf chunk (bytes 8..<120): lengths, types and the TIFF body.
                bytes[8 + Int(generator.next() % 112)] = UInt8(truncatingIfNeeded: generator.next())
            }
            let cut = Int(generator.next() % UInt64(bytes.count + 1))
            let value = bytes.prefix(cut).withUnsafeBytes { Orientation.fromPNG($0) }
            #expect(Orientation.allCases.contains(value))
        }
    }
}
