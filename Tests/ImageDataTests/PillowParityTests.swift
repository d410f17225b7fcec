// Graft's decode, resize and evaluation transform against Pillow 9.4's and torchvision's on the cases that
// Fixtures/pillow/make_pillow_fixtures.py wrote: generated images of many sizes and aspect ratios, and small photo
// cuts in every JPEG and PNG kind. Bounds from issue 26: at most 1 level apart anywhere, 0.05 on average.
import Foundation
import Tensors
import Testing

@testable import ImageData

@Suite struct PillowParityTests {
    struct Case: Decodable, CustomTestStringConvertible {
        struct Generated: Decodable {
            var width: Int, height: Int, channels: Int, seed: Int
            var noiseBits: Int
            enum CodingKeys: String, CodingKey { case width, height, channels, seed, noiseBits = "noise_bits" }
        }
        struct Resize: Decodable { var width: Int, height: Int, box: [Double]? }
        struct Pipeline: Decodable {
            var size: Int, channels: Int
            var cropFraction: Double
            enum CodingKeys: String, CodingKey { case size, channels, cropFraction = "crop_fraction" }
        }
        struct Decode: Decodable { var channels: Int }

        var name: String
        var generated: Generated?
        var file: String?
        var resize: Resize?
        var pipeline: Pipeline?
        var decode: Decode?
        var expected: String?
        var top5: [Int]?
        var testDescription: String { name }
    }

    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("pillow")
    static let cases: [Case] = {
        struct Manifest: Decodable { var cases: [Case] }
        let data = try! Data(contentsOf: folder.appendingPathComponent("cases.json"))
        return try! JSONDecoder().decode(Manifest.self, from: data).cases
    }()

    /// The generator of make_pillow_fixtures.py, bit for bit: wrapping ramps plus hashed noise of `noiseBits` bits.
    static func generated(_ g: Case.Generated) -> ByteImage {
        var pixels = [UInt8]()
        pixels.reserveCapacity(g.width * g.height * g.channels)
        for y in 0..<g.height {
            for x in 0..<g.width {
                for c in 0..<g.channels {
                    let smooth = (x * 255 / max(g.width - 1, 1) + y * 128 / max(g.height - 1, 1) + c * 60) % 256
                    var k = UInt32(truncatingIfNeeded: x * 73856093) ^ UInt32(truncatingIfNeeded: y * 19349663)
                        ^ UInt32(truncatingIfNeeded: c * 83492791) ^ UInt32(truncatingIfNeeded: g.seed * 2654435761)
                    k = k &* 2246822519
                    pixels.append(UInt8(smooth * (256 - (1 << g.noiseBits)) / 256 + Int(k >> (32 - g.noiseBits))))
                }
            }
        }
        return ByteImage(width: g.width, height: g.height, channels: g.channels, pixels: pixels)
    }

    /// What Graft makes of one case: the same operation through Graft's own API.
    static func graft(_ item: Case) throws -> ByteImage {
        let source: ByteImage
        if let generated = item.generated {
            source = Self.generated(generated)
        } else {
            let spec = InputSpec(channels: 3, height: 224, width: 224, mean: [0, 0, 0], std: [1, 1, 1], cropFraction: 0.875)
            source = try ImageDecoder.decode(contentsOf: folder.appendingPathComponent(item.file!),
                                             options: spec.decodeOptions())
        }
        if let resize = item.resize {
            let box = resize.box.map { CropBox(x: $0[0], y: $0[1], width: $0[2] - $0[0], height: $0[3] - $0[1]) }
            return source.resized(width: resize.width, height: resize.height, box: box)
        }
        if let pipeline = item.pipeline {
            let spec = InputSpec(channels: pipeline.channels, height: pipeline.size, width: pipeline.size,
                                 mean: [Float](repeating: 0, count: pipeline.channels),
                                 std: [Float](repeating: 1, count: pipeline.channels), cropFraction: pipeline.cropFraction)
            return spec.prepare(source)
        }
        return source.converted(toChannels: item.decode!.channels)
    }

    @Test(arguments: cases.filter { $0.expected != nil })
    func matchesPillow(_ item: Case) throws {
        let expected = try ImageDecoder.decode(contentsOf: Self.folder.appendingPathComponent(item.expected!))
        let ours = try Self.graft(item)
        #expect(ours.width == expected.width && ours.height == expected.height && ours.channels == expected.channels,
                "\(ours.width)×\(ours.height)×\(ours.channels), Pillow \(expected.width)×\(expected.height)×\(expected.channels)")
        guard ours.pixels.count == expected.pixels.count else { return }
        let differences = zip(ours.pixels, expected.pixels).map { abs(Int($0) - Int($1)) }
        let mean = Double(differences.reduce(0, +)) / Double(differences.count)
        #expect(differences.max()! <= 1 && mean <= 0.05, "max |Δ| \(differences.max()!), mean \(mean)")
    }

    /// The manifest covers what the issue lists, so that a regenerated fixture cannot silently drop a kind.
    @Test func casesCoverEveryKind() {
        let files = Set(Self.cases.compactMap(\.file))
        for kind in ["jpeg_baseline_420", "jpeg_progressive_420", "jpeg_baseline_444", "jpeg_grey", "jpeg_cmyk",
                     "png_rgb8", "png_rgba8", "png_grey8", "png_grey_alpha8", "png_palette", "png_palette_trns",
                     "png_grey1", "png_grey4", "png_rgb8_interlaced", "png_rgb16", "png_rgba16", "png_grey16", "png_grey_alpha16"] {
            #expect(files.contains { $0.hasPrefix(kind + ".") }, "\(kind) missing")
        }
        let generated = Self.cases.compactMap(\.generated)
        #expect(generated.contains { $0.width == 1 } && generated.contains { $0.height == 1 }, "1×N strips")
        #expect(Self.cases.contains { $0.pipeline?.size == 224 && $0.generated?.width == 256 && $0.generated?.height == 256 })
        #expect(Self.cases.contains { $0.pipeline?.size == 224 && $0.generated?.width == 224 && $0.generated?.height == 224 })
        #expect(Self.cases.contains { $0.resize?.box != nil }, "a fractional box")
    }

    /// Pillow keeps a transparent pixel's colour and takes the high byte of 16-bit colour: spot checks on the
    /// files themselves, whatever the comparison above says.
    @Test func alphaIsDroppedAndSixteenBitKeepsTheHighByte() throws {
        let rgba8 = try ImageDecoder.decode(contentsOf: Self.folder.appendingPathComponent("png_rgba8.png"))
        let rgb8 = try ImageDecoder.decode(contentsOf: Self.folder.appendingPathComponent("png_rgb8.png"))
        #expect(rgba8 == rgb8, "the same colours with and without an alpha channel (some pixels fully transparent)")
        let rgb16 = try ImageDecoder.decode(contentsOf: Self.folder.appendingPathComponent("png_rgb16.png"))
        #expect(rgb16 == rgb8, "16-bit samples v·256 + noise keep v")
        let grey16 = try ImageDecoder.decode(contentsOf: Self.folder.appendingPathComponent("png_grey16.png"))
        #expect(grey16.channels == 1 && grey16.pixels.contains(255) && grey16.pixels.contains { $0 < 255 })
    }
}
