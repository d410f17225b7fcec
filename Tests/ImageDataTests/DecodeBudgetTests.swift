// The decode budget: what a decode will allocate, known from the header, and images that would need more than
// the caller allows refused before any pixel buffer exists, while large baseline JPEGs decode scaled down.
import CPNG
import CTurboJPEG
import Foundation
import Tensors
import Testing

@testable import ImageData

@Suite struct DecodeBudgetTests {
    /// The PNG: 10 950 × 10 950 declared (120 MP, 360 MB as RGB), just under the 120 MP bomb cap.
    static let bigPNG = TestImages.pngHeaderBomb(width: 10_950, height: 10_950)

    @Test func pngOverTheBudgetIsRefusedFromItsHeader() throws {
        let budget = DecodeOptions(maximumDecodedPixelCount: 16_000_000)
        let expected = ImageDataError.decodeBudgetExceeded(file: "scan.png", width: 10_950, height: 10_950, limit: 16_000_000)
        #expect(throws: expected) { try ImageDecoder.decode(Self.bigPNG, fileName: "scan.png", options: budget) }
        #expect(throws: expected) { try ImageDecoder.decodedByteCount(Self.bigPNG, fileName: "scan.png", options: budget) }
        #expect(expected.description.contains("10950×10950") && expected.description.contains("16000000"))
        // Without the budget the same bytes get past the header and into libpng, which allocates the 360 MB
        // buffer and then finds the pixel data missing: a different error, so the refusal above came first.
        // (the samples as stored and Pillow's RGB image made from them, 3 bytes a pixel each, row pointers, row buffer)
        #expect(try ImageDecoder.decodedByteCount(Self.bigPNG, options: DecodeOptions())
            == 10_950 * 10_950 * 6 + 10_950 * 8 + 10_950 * 8)
    }

    @Test func aModelsPredictionBudgetRefusesThePNG() throws {
        // EfficientNet-Lite0's input: 224² RGB, evaluated on a 0.875 centre crop.
        let spec = InputSpec(channels: 3, height: 224, width: 224, mean: [127, 127, 127], std: [128, 128, 128],
                             cropFraction: 0.875)
        #expect(spec.decodeOptions().maximumDecodedPixelCount == nil, "training decodes are not budgeted")
        let options = spec.decodeOptions(maximumDecodedPixelCount: spec.decodedPixelBudget())
        #expect(options.maximumDecodedPixelCount == 50_000_000)
        #expect(throws: ImageDataError.decodeBudgetExceeded(file: nil, width: 10_950, height: 10_950, limit: 50_000_000)) {
            try ImageDecoder.decode(Self.bigPNG, options: options)
        }
        // A 4K screenshot still fits.
        let screenshot = TestImages.pngHeaderBomb(width: 3840, height: 2160)
        #expect(try ImageDecoder.decodedByteCount(screenshot, options: options) == 3840 * 2160 * 6 + 2160 * 8 + 3840 * 8)
    }

    @Test func largeBaselineJPEGDecodesScaledWithinTheBudget() throws {
        let photo = TestImages.jpeg(TestImages.gradient(width: 2400, height: 1600, channels: 3), quality: 80)
        let options = DecodeOptions(minimumSize: (300, 200), maximumDecodedPixelCount: 1_000_000)
        #expect(try ImageDecoder.decodedByteCount(photo, options: options) == 300 * 200 * 3)
        let image = try ImageDecoder.decode(photo, options: options)
        #expect((image.width, image.height) == (300, 200), "decoded at 1/8")
        // Needing one more column forces 2/8: 600×400 still fits the budget.
        let wider = try ImageDecoder.decode(photo, options: DecodeOptions(minimumSize: (301, 200), maximumDecodedPixelCount: 1_000_000))
        #expect((wider.width, wider.height) == (600, 400))
        // At full size (3.84 MP) it does not.
        #expect(throws: ImageDataError.decodeBudgetExceeded(file: nil, width: 2400, height: 1600, limit: 1_000_000)) {
            try ImageDecoder.decode(photo, options: DecodeOptions(maximumDecodedPixelCount: 1_000_000))
        }
    }

    /// The reference path (issue 26) decodes every JPEG at full size, so the budget sees a baseline JPEG's full
    /// size too: a camera's 24 MP photo fits, a 60 MP one does not; fast_jpeg brings the DCT scaling, and the
    /// larger file, back within it.
    @Test func referencePathCountsBaselineJPEGsAtFullSize() throws {
        let spec = InputSpec(channels: 3, height: 224, width: 224, mean: [0, 0, 0], std: [1, 1, 1], cropFraction: 0.875)
        let reference = spec.decodeOptions(maximumDecodedPixelCount: spec.decodedPixelBudget())
        let camera = TestImages.jpegHeaderBomb(width: 6000, height: 4000)  // 24 MP
        #expect(try ImageDecoder.decodedByteCount(camera, options: reference) >= 6000 * 4000 * 3, "decoded at full size")
        let photo = TestImages.jpegHeaderBomb(width: 9600, height: 6400)  // 61 MP
        #expect(throws: ImageDataError.decodeBudgetExceeded(file: nil, width: 9600, height: 6400, limit: 50_000_000)) {
            try ImageDecoder.decodedByteCount(photo, options: reference)
        }
        var fast = spec
        fast.fastJPEG = true
        let scaled = fast.decodeOptions(maximumDecodedPixelCount: fast.decodedPixelBudget())
        #expect(try ImageDecoder.decodedByteCount(photo, options: scaled) == 1200 * 800 * 3, "decoded at 1/8")
        #expect(ImageDataError.decodeBudgetExceeded(file: "a.jpg", width: 9600, height: 6400, limit: 50_000_000)
            .description.contains("fast_jpeg"), "the message says how to get a scaled decode")
    }

    @Test func progressiveJPEGCountsAtFullSizeBecauseLibjpegBuffersItsCoefficients() throws {
        let pixels = TestImages.gradient(width: 2400, height: 1600, channels: 3)
        let progressive = TestImages.jpeg(pixels, quality: 80, progressive: true)
        let layout = progressive.withUnsafeBytes { JPEGLayout($0) }
        #expect(layout.isProgressive && layout.buffersWholeImage)
        let options = DecodeOptions(minimumSize: (300, 200), maximumDecodedPixelCount: 1_000_000)
        #expect(throws: ImageDataError.decodeBudgetExceeded(file: nil, width: 2400, height: 1600, limit: 1_000_000)) {
            try ImageDecoder.decode(progressive, options: options)
        }
        // 4:4:4, three components of 300×200 blocks, 64 coefficients of 2 bytes each, plus the 300×200 output.
        var unlimited = options
        unlimited.maximumDecodedPixelCount = nil
        #expect(try ImageDecoder.decodedByteCount(progressive, options: unlimited) == 300 * 200 * 3 + 3 * 300 * 200 * 128)
        #expect(try ImageDecoder.decode(progressive, options: unlimited).width == 300)
    }

    @Test func baselineLayoutHasOneScanAndItsSampling() {
        let baseline = TestImages.jpeg(TestImages.gradient(width: 64, height: 48, channels: 3), subsampling: TJSAMP_420)
        let layout = baseline.withUnsafeBytes { JPEGLayout($0) }
        #expect(!layout.isProgressive && layout.scanCount == 1 && !layout.buffersWholeImage)
        let horizontal: [Int] = layout.sampling.map { $0.horizontal }, vertical: [Int] = layout.sampling.map { $0.vertical }
        #expect(horizontal == [2, 1, 1] && vertical == [2, 1, 1])
        // Luma 8×6 blocks, each chroma 4×3, 128 bytes a block.
        let blocks = 8 * 6 + 2 * 4 * 3
        #expect(layout.coefficientBytes(width: 64, height: 48) == blocks * 128)
    }

    /// For every decodable test image, the announced bytes cover what the decode really returned.
    @Test func announcedBytesCoverTheDecodedImage() throws {
        let files: [(Data, DecodeOptions)] = [
            (TestImages.jpeg(TestImages.noise(width: 97, height: 61, channels: 3, seed: 1)), DecodeOptions()),
            (TestImages.jpeg(TestImages.noise(width: 97, height: 61, channels: 1, seed: 2)), DecodeOptions(channels: 3)),
            (TestImages.withEXIF(TestImages.jpeg(TestImages.gradient(width: 40, height: 30, channels: 3)), orientation: 6,
                                 bigEndian: true), DecodeOptions()),
            (TestImages.png(width: 33, height: 17, format: UInt32(PNG_FORMAT_RGB),
                            pixels: TestImages.noise(width: 33, height: 17, channels: 3, seed: 3).pixels), DecodeOptions()),
        ]
        for (data, options) in files {
            let announced = try ImageDecoder.decodedByteCount(data, options: options)
            let image = try ImageDecoder.decode(data, options: options)
            #expect(announced >= image.pixels.count, "\(announced) < \(image.pixels.count)")
            #expect(announced <= 2 * image.pixels.count + image.width * 8 + image.height * 8)
        }
    }
}
