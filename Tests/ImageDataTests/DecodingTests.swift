// Decoding JPEG and PNG files made by the same libraries with known pixels: formats, DCT scaling, channels.
import CPNG
import CTurboJPEG
import Foundation
import Testing

@testable import ImageData

@Suite struct DecodingTests {
    @Test func jpegRGBRoundTripIsCloseToTheSource() throws {
        let source = TestImages.gradient(width: 64, height: 48, channels: 3)
        let decoded = try ImageDecoder.decode(TestImages.jpeg(source, quality: 100))
        #expect(decoded.width == 64 && decoded.height == 48 && decoded.channels == 3)
        #expect(TestImages.maxDifference(decoded.pixels, source.pixels) <= 3)
    }

    @Test func greyJPEGStaysGreyOrBecomesRGBOnRequest() throws {
        let source = TestImages.gradient(width: 40, height: 24, channels: 1)
        let data = TestImages.jpeg(source, quality: 100)
        let grey = try ImageDecoder.decode(data)
        #expect(grey.channels == 1)
        #expect(TestImages.maxDifference(grey.pixels, source.pixels) <= 2)
        let rgb = try ImageDecoder.decode(data, options: DecodeOptions(channels: 3))
        #expect(rgb.channels == 3)
        for i in 0..<(40 * 24) {
            #expect(rgb.pixels[3 * i] == grey.pixels[i] && rgb.pixels[3 * i + 2] == grey.pixels[i])
        }
        let header = try ImageDecoder.header(data)
        #expect(header == ImageHeader(format: .jpeg, width: 40, height: 24, channels: 1))
    }

    @Test func rgbJPEGDecodesToGreyAsLuma() throws {
        // A flat colour: Y = 0.299 R + 0.587 G + 0.114 B.
        let flat = ByteImage(width: 16, height: 16, channels: 3, pixels: Array(repeating: [200, 100, 50], count: 256).flatMap { $0 })
        let grey = try ImageDecoder.decode(TestImages.jpeg(flat, quality: 100), options: DecodeOptions(channels: 1))
        let expected = 0.299 * 200 + 0.587 * 100 + 0.114 * 50
        #expect(grey.pixels.allSatisfy { abs(Double($0) - expected) <= 2 })
    }

    @Test func jpegIsScaledInTheDCTDomainOnlyAsFarAsTheMinimumSizeAllows() throws {
        let source = TestImages.gradient(width: 800, height: 600, channels: 3)
        let data = TestImages.jpeg(source, quality: 90)
        // 1/8 would give 100×75 (too short); 1/4 gives 200×150, the smallest factor that covers 100×100.
        let scaled = try ImageDecoder.decode(data, options: DecodeOptions(minimumSize: (100, 100)))
        #expect(scaled.width == 200 && scaled.height == 150)
        let full = try ImageDecoder.decode(data, options: DecodeOptions(minimumSize: (800, 600)))
        #expect(full.width == 800 && full.height == 600)
        // The scaled decode shows the same picture: compare against an area-resized full decode.
        let reference = full.resized(width: 200, height: 150)
        let meanError = zip(scaled.pixels, reference.pixels).map { abs(Double($0) - Double($1)) }.reduce(0, +)
            / Double(scaled.pixels.count)
        #expect(meanError < 3)
    }

    @Test func scalingFactorHonoursRotatedOrientation() throws {
        // Stored 800×400, orientation 6 shows it as 400×800. Asking for 100×300 upright means 300×100 stored:
        // 3/8 → 300×150 covers it, 1/4 → 200×100 does not.
        let data = TestImages.withEXIF(
            TestImages.jpeg(TestImages.gradient(width: 800, height: 400, channels: 3)), orientation: 6, bigEndian: false)
        let image = try ImageDecoder.decode(data, options: DecodeOptions(minimumSize: (100, 300)))
        #expect(image.width == 150 && image.height == 300)
    }

    @Test func pngEightBitRGBAndGreyAreExact() throws {
        let rgb = TestImages.noise(width: 23, height: 17, channels: 3, seed: 1)
        let decoded = try ImageDecoder.decode(
            TestImages.png(width: 23, height: 17, format: UInt32(PNG_FORMAT_RGB), pixels: rgb.pixels))
        #expect(decoded == rgb)
        let grey = TestImages.noise(width: 9, height: 31, channels: 1, seed: 2)
        let data = TestImages.png(width: 9, height: 31, format: UInt32(PNG_FORMAT_GRAY), pixels: grey.pixels)
        #expect(try ImageDecoder.decode(data) == grey)
        #expect(try ImageDecoder.header(data) == ImageHeader(format: .png, width: 9, height: 31, channels: 1))
        let asRGB = try ImageDecoder.decode(data, options: DecodeOptions(channels: 3))
        #expect(asRGB == grey.converted(toChannels: 3))
    }

    @Test func palettePNGExpandsToItsColours() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
        let indices: [UInt8] = [0, 1, 2, 3, 3, 2, 1, 0]
        let data = TestImages.png(
            width: 4, height: 2, format: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_COLORMAP), pixels: indices, colormap: palette, entries: 4)
        let decoded = try ImageDecoder.decode(data)
        let expected = indices.flatMap { Array(palette[Int($0) * 3..<Int($0) * 3 + 3]) }
        #expect(decoded.channels == 3 && decoded.pixels == expected)
    }

    @Test func alphaIsDroppedAsPillowDoes() throws {
        // Grey + alpha: opaque 40, fully transparent 40, opaque 200. Pillow's convert keeps the stored grey.
        let data = TestImages.png(width: 3, height: 1, format: UInt32(PNG_FORMAT_GA), pixels: [40, 255, 40, 0, 200, 255])
        let decoded = try ImageDecoder.decode(data)
        #expect(decoded.channels == 1)
        #expect(decoded.pixels == [40, 40, 200])
        let rgba = TestImages.png(width: 2, height: 1, format: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA), pixels: [10, 20, 30, 0, 90, 80, 70, 128])
        #expect(try ImageDecoder.decode(rgba).pixels == [10, 20, 30, 90, 80, 70])
    }

    @Test func sixteenBitGreyPNGIsClippedAsPillowDoes() throws {
        // Pillow opens 16-bit grey as mode I (32-bit integers) and convert clips it to 0…255: no gamma, no scaling.
        let samples: [UInt16] = [0, 65535, 200, 255, 256, 6554]
        let data = TestImages.png16(width: 6, height: 1, format: UInt32(PNG_FORMAT_LINEAR_Y), components: samples)
        #expect(try ImageDecoder.decode(data).pixels == [0, 255, 200, 255, 255, 255])
        #expect(try ImageDecoder.decode(data, options: DecodeOptions(channels: 3)).pixels
            == [0, 255, 200, 255, 255, 255].flatMap { [$0, $0, $0] })
    }

    @Test func fileDecodingNamesTheFile() throws {
        let folder = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("cat.png")
        let image = TestImages.noise(width: 5, height: 5, channels: 3, seed: 3)
        try TestImages.png(width: 5, height: 5, format: UInt32(PNG_FORMAT_RGB), pixels: image.pixels).write(to: url)
        #expect(try ImageDecoder.decode(contentsOf: url) == image)
        #expect(throws: ImageDataError.self) { try ImageDecoder.decode(contentsOf: folder.appendingPathComponent("missing.png")) }
    }

    @Test func channelConversionMatchesLumaFormula() {
        let rgb = TestImages.noise(width: 17, height: 3, channels: 3, seed: 4)
        let grey = rgb.converted(toChannels: 1)
        for i in 0..<(17 * 3) {
            let y = 0.299 * Double(rgb.pixels[3 * i]) + 0.587 * Double(rgb.pixels[3 * i + 1]) + 0.114 * Double(rgb.pixels[3 * i + 2])
            #expect(abs(Double(grey.pixels[i]) - y) <= 0.51)
        }
    }
}
