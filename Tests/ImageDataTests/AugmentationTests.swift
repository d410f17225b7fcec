// Seeded augmentation: off by default, reproducible per seed, and each transform checked on its own.
import Foundation
import Tensors
import Testing

@testable import ImageData

@Suite struct AugmentationTests {
    private let spec = InputSpec(channels: 3, height: 32, width: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
    private let image = TestImages.noise(width: 60, height: 45, channels: 3, seed: 5)

    @Test func offByDefaultAndThenIdenticalToPrepare() {
        #expect(AugmentationConfig().enabled == false)
        var generator = SeededGenerator(seed: 1)
        let untouched = SeededGenerator(seed: 1)
        #expect(spec.augment(image, config: .off, using: &generator) == spec.prepare(image))
        var a = generator, b = untouched
        #expect(a.next() == b.next())  // nothing was drawn
    }

    @Test func sameSeedSameImageDifferentSeedDifferentImage() {
        var g1 = SeededGenerator(seed: 42), g2 = SeededGenerator(seed: 42), g3 = SeededGenerator(seed: 43)
        let a = spec.augment(image, config: .standard, using: &g1)
        let b = spec.augment(image, config: .standard, using: &g2)
        let c = spec.augment(image, config: .standard, using: &g3)
        #expect(a == b)
        #expect(a != c)
        #expect(a.width == 32 && a.height == 32 && a.channels == 3)
    }

    @Test func flipAloneMirrorsThePreparedImage() {
        let square = TestImages.noise(width: 40, height: 40, channels: 3, seed: 6)
        let config = AugmentationConfig(
            enabled: true, minimumCropScale: 1, maximumCropScale: 1, minimumAspectRatio: 1, maximumAspectRatio: 1,
            horizontalFlipProbability: 1, maximumRotationDegrees: 0, brightness: 0, contrast: 0)
        var generator = SeededGenerator(seed: 3)
        let flipped = spec.augment(square, config: config, using: &generator)
        #expect(flipped == spec.prepare(square).flippedHorizontally())
        let prepared = spec.prepare(square)
        #expect(Array(flipped[0, 5]) == Array(prepared[31, 5]))
    }

    @Test func randomCropsStayInsideAndCoverTheRequestedArea() {
        let config = AugmentationConfig(enabled: true, minimumCropScale: 0.3, maximumCropScale: 0.6)
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<200 {
            let box = spec.randomCropBox(width: 60, height: 45, config: config, using: &generator)
            #expect(box.x >= 0 && box.y >= 0 && box.x + box.width <= 60.0001 && box.y + box.height <= 45.0001)
            let fraction = box.width * box.height / (60 * 45)
            let ratio = box.width / box.height
            // Either a sampled crop within the ranges, or the centre-crop fallback.
            let sampled = fraction >= 0.3 - 1e-9 && fraction <= 0.6 + 1e-9 && ratio >= 0.75 - 1e-9 && ratio <= 4.0 / 3 + 1e-9
            #expect(sampled || box == spec.cropBox(forImageWidth: 60, height: 45))
        }
    }

    @Test func rotationByNinetyDegreesEqualsTheExactTurn() {
        let square = TestImages.noise(width: 15, height: 15, channels: 1, seed: 7)
        // Counter-clockwise 90° is Exif orientation 8 (left-bottom).
        #expect(TestImages.maxDifference(square.rotated(degrees: 90).pixels, square.applying(.leftBottom).pixels) <= 1)
        #expect(TestImages.maxDifference(square.rotated(degrees: -90).pixels, square.applying(.rightTop).pixels) <= 1)
        #expect(square.rotated(degrees: 0) == square)
        // A small turn keeps the centre pixel and changes the corners.
        let turned = square.rotated(degrees: 5)
        #expect(turned[7, 7] == square[7, 7])
    }

    @Test func brightnessAndContrastFollowTheFormula() {
        let small = ByteImage(width: 2, height: 1, channels: 1, pixels: [100, 200])
        #expect(small.jittered(brightness: 1.1, contrast: 1).pixels == [110, 220])
        // Mean 150; contrast 0.5 pulls values halfway to it.
        #expect(small.jittered(brightness: 1, contrast: 0.5).pixels == [125, 175])
        #expect(small.jittered(brightness: 2, contrast: 1).pixels == [200, 255])  // clamped
    }

    @Test func configIsCodableSnakeCaseAndValidated() throws {
        let data = try JSONEncoder().encode(AugmentationConfig.standard)
        let keys = Set((try JSONSerialization.jsonObject(with: data) as! [String: Any]).keys)
        #expect(keys.contains("horizontal_flip_probability") && keys.contains("maximum_rotation_degrees"))
        #expect(try JSONDecoder().decode(AugmentationConfig.self, from: data) == .standard)
        #expect(AugmentationConfig.standard.problems.isEmpty)
        #expect(!AugmentationConfig(minimumCropScale: 0).problems.isEmpty)
    }
}
