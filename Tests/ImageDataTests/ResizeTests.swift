// Resize against an independent Double-precision reference, antialiasing, crop boxes, torchvision's geometry,
// normalisation, batching (pixel equality with Pillow itself is PillowParityTests).
import Foundation
import Tensors
import Testing

@testable import ImageData

@Suite struct ResizeTests {
    /// Direct 2-D evaluation of the triangle filter (support widened by the downscale factor), with no
    /// separability, no tap tables and Double arithmetic: out = Σ w(x)·w(y)·in / Σ w(x)·w(y).
    static func reference(_ image: ByteImage, width: Int, height: Int, box: CropBox) -> [Double] {
        let scaleX = box.width / Double(width), scaleY = box.height / Double(height)
        let filterX = max(scaleX, 1), filterY = max(scaleY, 1)
        var out = [Double]()
        for oy in 0..<height {
            let cy = box.y + (Double(oy) + 0.5) * scaleY
            for ox in 0..<width {
                let cx = box.x + (Double(ox) + 0.5) * scaleX
                var sums = [Double](repeating: 0, count: image.channels)
                var total = 0.0
                for sy in 0..<image.height {
                    let wy = max(0, 1 - abs((Double(sy) + 0.5 - cy) / filterY))
                    if wy == 0 { continue }
                    for sx in 0..<image.width {
                        let wx = max(0, 1 - abs((Double(sx) + 0.5 - cx) / filterX))
                        if wx == 0 { continue }
                        total += wx * wy
                        for c in 0..<image.channels { sums[c] += wx * wy * Double(image.pixels[(sy * image.width + sx) * image.channels + c]) }
                    }
                }
                out += sums.map { $0 / total }
            }
        }
        return out
    }

    @Test(arguments: [
        (37, 23, 10, 7, 3), (37, 23, 10, 7, 1), (5, 4, 13, 9, 3), (64, 64, 64, 64, 1), (100, 30, 7, 19, 3), (9, 9, 3, 3, 1),
    ])
    func matchesTheReference(sizes: (Int, Int, Int, Int, Int)) {
        let (inW, inH, outW, outH, channels) = sizes
        let image = TestImages.noise(width: inW, height: inH, channels: channels, seed: UInt64(inW * 1000 + outW))
        let boxes = [
            CropBox.whole(width: inW, height: inH),
            CropBox(x: 1.25, y: 0.5, width: Double(inW) - 3.5, height: Double(inH) - 1.75),
        ]
        for box in boxes {
            let resized = image.resized(width: outW, height: outH, box: box)
            let expected = Self.reference(image, width: outW, height: outH, box: box)
            #expect(resized.width == outW && resized.height == outH && resized.channels == channels)
            // Pillow's rounding to 8 bits after each pass: at most half a level each, so under one in all.
            let worst = zip(resized.pixels, expected).map { abs(Double($0) - $1) }.max()!
            #expect(worst <= 1.001, "\(sizes) box \(box): off by \(worst)")
        }
    }

    @Test func downscalingAveragesInsteadOfAliasing() {
        // A one-pixel checkerboard shrunk 20×: every output averages both colours. Point sampling would give 0 or 255.
        let size = 400
        let pixels = (0..<(size * size)).map { i in ((i % size) + (i / size)) % 2 == 0 ? UInt8(0) : 255 }
        let small = ByteImage(width: size, height: size, channels: 1, pixels: pixels).resized(width: 20, height: 20)
        #expect(small.pixels.allSatisfy { abs(Int($0) - 128) <= 2 })
    }

    @Test func flatImagesStayFlat() {
        let flat = ByteImage(width: 31, height: 17, channels: 3, repeating: 77)
        for (w, h) in [(5, 3), (62, 34), (31, 17), (1, 1), (100, 2)] {
            #expect(flat.resized(width: w, height: h).pixels.allSatisfy { $0 == 77 })
        }
    }

    @Test func centreCropBoxKeepsTheAspectRatio() {
        let spec = InputSpec(channels: 3, height: 100, width: 100, mean: [0, 0, 0], std: [1, 1, 1])
        #expect(spec.cropBox(forImageWidth: 300, height: 200) == CropBox(x: 50, y: 0, width: 200, height: 200))
        #expect(spec.cropBox(forImageWidth: 50, height: 80) == CropBox(x: 0, y: 15, width: 50, height: 50))
        let wide = InputSpec(channels: 1, height: 50, width: 100, mean: [0], std: [1])
        #expect(wide.cropBox(forImageWidth: 100, height: 100) == CropBox(x: 0, y: 25, width: 100, height: 50))
        var stretch = spec
        stretch.resize = .stretch
        #expect(stretch.cropBox(forImageWidth: 300, height: 200) == .whole(width: 300, height: 200))
    }

    /// ImageNet's evaluation crop: shorter side to 256, centre 224 — the fraction 0.875 of the centre square.
    @Test func cropFractionKeepsTheCentreOfTheRegion() throws {
        let spec = InputSpec(channels: 3, height: 224, width: 224, mean: [0, 0, 0], std: [1, 1, 1], cropFraction: 0.875)
        #expect(spec.cropBox(forImageWidth: 512, height: 256) == CropBox(x: 144, y: 16, width: 224, height: 224))
        var stretch = spec
        stretch.resize = .stretch
        #expect(stretch.cropBox(forImageWidth: 400, height: 200) == CropBox(x: 25, y: 12.5, width: 350, height: 175))
        // The reference path decodes at full size; with fast_jpeg, JPEGs may be shrunk while decoding only as far
        // as the kept part still covers 224 pixels.
        #expect(spec.decodeOptions().minimumSize == nil && spec.decodeOptions().channels == nil)
        var fast = spec
        fast.fastJPEG = true
        let minimum = try #require(fast.decodeOptions(reducingGap: 1).minimumSize)
        #expect(minimum.width == 256 && minimum.height == 256)
        let gap = try #require(fast.decodeOptions().minimumSize)
        #expect(gap.width == 512 && gap.height == 512, "twice the pixels by default")
        // the key round-trips, is optional, and is checked
        let json = try JSONEncoder().encode(spec)
        #expect(String(decoding: json, as: UTF8.self).contains("\"crop_fraction\":0.875"))
        #expect(try JSONDecoder().decode(InputSpec.self, from: json) == spec)
        let plain = try JSONDecoder().decode(InputSpec.self, from: Data(
            #"{"channels":1,"height":28,"width":28,"resize":"stretch","mean":[0],"std":[1]}"#.utf8))
        #expect(plain.cropFraction == 1 && !plain.fastJPEG)
        let fastJSON = try JSONEncoder().encode(fast)
        #expect(String(decoding: fastJSON, as: UTF8.self).contains("\"fast_jpeg\":true"))
        #expect(try JSONDecoder().decode(InputSpec.self, from: fastJSON) == fast)
        #expect(!String(decoding: json, as: UTF8.self).contains("fast_jpeg"), "written only when on")
        var wrong = spec
        wrong.cropFraction = 0
        #expect(wrong.problems == ["crop_fraction must be in (0, 1], got 0.0"])
    }

    /// torchvision's `Resize(floor(size / crop_fraction))` + `CenterCrop(size)`: the shorter side to 256, the
    /// longer to int(256 · long / short), offsets rounded half to even.
    @Test(arguments: [
        // image width, height → resized width, height, crop x, y (224 input, crop fraction 0.875)
        (640, 480, 341, 256, 58, 16), (480, 640, 256, 341, 16, 58), (256, 256, 256, 256, 16, 16),
        (224, 224, 256, 256, 16, 16), (223, 300, 256, 344, 16, 60), (1001, 66, 3882, 256, 1829, 16),
        (257, 256, 257, 256, 16, 16), (259, 256, 259, 256, 18, 16), (261, 256, 261, 256, 18, 16),
    ])
    func resizePlanIsTorchvisionsEvaluationTransform(row: (Int, Int, Int, Int, Int, Int)) {
        let spec = InputSpec(channels: 3, height: 224, width: 224, mean: [0, 0, 0], std: [1, 1, 1], cropFraction: 0.875)
        let plan = spec.resizePlan(forImageWidth: row.0, height: row.1)
        // (257 − 224) / 2 = 16.5 → 16, (259 − 224) / 2 = 17.5 → 18, (261 − 224) / 2 = 18.5 → 18
        #expect(plan == ResizePlan(resizedWidth: row.2, resizedHeight: row.3, cropX: row.4, cropY: row.5))
    }

    @Test func keepingARectangleEqualsCroppingTheWholeResize() {
        let image = TestImages.noise(width: 97, height: 61, channels: 3, seed: 9)
        for (w, h) in [(40, 25), (97, 30), (150, 61), (97, 61)] {
            let whole = image.resized(width: w, height: h)
            let part = image.resized(width: w, height: h, keeping: 3..<(w - 2), rows: 1..<(h - 4))
            #expect(part == whole.cropped(columns: 3..<(w - 2), rows: 1..<(h - 4)), "\(w)×\(h)")
        }
    }

    @Test func prepareCropsTheCentre() {
        // 300×100 image: left third 0, middle third 200, right third 50. The centre crop sees only the middle.
        var pixels = [UInt8]()
        for _ in 0..<100 { for x in 0..<300 { pixels.append(x < 100 ? 0 : (x < 200 ? 200 : 50)) } }
        let image = ByteImage(width: 300, height: 100, channels: 1, pixels: pixels)
        let spec = InputSpec(channels: 1, height: 50, width: 50, mean: [0], std: [1])
        let prepared = spec.prepare(image)
        #expect(prepared.width == 50 && prepared.height == 50 && prepared.channels == 1)
        // The filter reaches one source pixel beyond the box at most (support 2 at scale 2): inner columns are pure.
        for y in 0..<50 { for x in 1..<49 { #expect(prepared[x, y].first == 200) } }
        var stretch = spec
        stretch.resize = .stretch
        let squashed = stretch.prepare(image)
        #expect(squashed[2, 25].first == 0 && squashed[25, 25].first == 200 && squashed[47, 25].first == 50)
        // Grey input with an RGB spec is replicated.
        let rgb = InputSpec(channels: 3, height: 50, width: 50, mean: [0, 0, 0], std: [1, 1, 1]).prepare(image)
        #expect(Array(rgb[25, 25]) == [200, 200, 200])
    }

    @Test func normalisationWritesCHW() {
        let spec = InputSpec(channels: 3, height: 1, width: 2, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2])
        let image = ByteImage(width: 2, height: 1, channels: 3, pixels: [255, 0, 51, 0, 255, 102])
        let tensor = spec.tensor(image)
        #expect(tensor.shape == [1, 3, 1, 2])
        let expected: [Float] = [
            (1 - 0.5) / 0.5, (0 - 0.5) / 0.5,  // red plane
            (0 - 0.25) / 0.25, (1 - 0.25) / 0.25,  // green plane
            0.2 / 2, 0.4 / 2,  // blue plane
        ]
        for (a, b) in zip(tensor.scalars, expected) { #expect(abs(a - b) < 1e-5) }
    }

    @Test func batchStacksImagesInOrder() {
        let spec = InputSpec(channels: 1, height: 2, width: 2, mean: [0], std: [1])
        let a = ByteImage(width: 2, height: 2, channels: 1, pixels: [0, 51, 102, 153])
        let b = ByteImage(width: 4, height: 4, channels: 1, repeating: 255)  // resized on the way in
        let batch = spec.batch([a, b])
        #expect(batch.shape == [2, 1, 2, 2])
        for (x, y) in zip(batch.scalars, [0, 0.2, 0.4, 0.6, 1, 1, 1, 1] as [Float]) { #expect(abs(x - y) < 1e-6) }
    }

    @Test func specIsCodableWithSnakeCaseKeys() throws {
        let json = #"{"channels":3,"height":224,"width":224,"resize":"shorter_side_then_center_crop","mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}"#
        let spec = try JSONDecoder().decode(InputSpec.self, from: Data(json.utf8))
        #expect(spec == .imageNet224)
        let back = try JSONSerialization.jsonObject(with: JSONEncoder().encode(spec)) as! [String: Any]
        #expect(Set(back.keys) == ["channels", "height", "width", "resize", "mean", "std"])
        #expect(back["resize"] as? String == "shorter_side_then_center_crop")
        #expect(spec.problems.isEmpty)
        let bad = InputSpec(channels: 2, height: 0, width: 5, mean: [0], std: [0])
        #expect(bad.problems.count >= 4)
        #expect(throws: ImageDataError.self) { try bad.validate() }
        // Manifest aliases decode to the same policies; unknown names are refused.
        for (name, policy) in [("resize", ResizePolicy.stretch), ("resize_shorter_center_crop", .shorterSideThenCenterCrop), ("none", .none)] {
            #expect(try JSONDecoder().decode(ResizePolicy.self, from: Data("\"\(name)\"".utf8)) == policy)
        }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ResizePolicy.self, from: Data("\"squash\"".utf8)) }
    }
}
