/// Seeded training augmentation: random resized crop, horizontal flip, small rotation, brightness and contrast
/// jitter. Off by default: with a frozen backbone it defeats feature caching.
/// The crop-and-flip copy uses unsafe buffers: it runs per image per epoch.
import Foundation
import Tensors

/// Which augmentations a training run applies, and how strongly. JSON keys are snake_case.
public struct AugmentationConfig: Codable, Sendable, Hashable {
    /// Master switch; when false every image goes through the deterministic ``InputSpec/prepare(_:)``.
    public var enabled: Bool
    /// Random resized crop: the crop's area as a fraction of the image, drawn uniformly from this range.
    public var minimumCropScale: Double
    public var maximumCropScale: Double
    /// Random resized crop: aspect ratio (width / height) drawn log-uniformly from this range.
    public var minimumAspectRatio: Double
    public var maximumAspectRatio: Double
    /// Probability of mirroring left to right.
    public var horizontalFlipProbability: Double
    /// Rotation by an angle drawn uniformly from ±this many degrees (0 disables it).
    public var maximumRotationDegrees: Double
    /// Brightness factor drawn from 1 ± this.
    public var brightness: Double
    /// Contrast factor (around the image's mean grey level) drawn from 1 ± this.
    public var contrast: Double

    public init(
        enabled: Bool = false, minimumCropScale: Double = 0.5, maximumCropScale: Double = 1,
        minimumAspectRatio: Double = 3.0 / 4.0, maximumAspectRatio: Double = 4.0 / 3.0,
        horizontalFlipProbability: Double = 0.5, maximumRotationDegrees: Double = 10,
        brightness: Double = 0.2, contrast: Double = 0.2
    ) {
        self.enabled = enabled
        self.minimumCropScale = minimumCropScale
        self.maximumCropScale = maximumCropScale
        self.minimumAspectRatio = minimumAspectRatio
        self.maximumAspectRatio = maximumAspectRatio
        self.horizontalFlipProbability = horizontalFlipProbability
        self.maximumRotationDegrees = maximumRotationDegrees
        self.brightness = brightness
        self.contrast = contrast
    }

    /// No augmentation (the default).
    public static let off = AugmentationConfig()
    /// The usual light augmentation for fine-tuning, switched on.
    public static let standard = AugmentationConfig(enabled: true)

    enum CodingKeys: String, CodingKey {
        case enabled, brightness, contrast
        case minimumCropScale = "minimum_crop_scale", maximumCropScale = "maximum_crop_scale"
        case minimumAspectRatio = "minimum_aspect_ratio", maximumAspectRatio = "maximum_aspect_ratio"
        case horizontalFlipProbability = "horizontal_flip_probability"
        case maximumRotationDegrees = "maximum_rotation_degrees"
    }

    /// Problems that make the configuration unusable, empty when valid.
    public var problems: [String] {
        var found: [String] = []
        if !(minimumCropScale > 0 && minimumCropScale <= maximumCropScale && maximumCropScale <= 1) {
            found.append("crop scale range must satisfy 0 < minimum ≤ maximum ≤ 1")
        }
        if !(minimumAspectRatio > 0 && minimumAspectRatio <= maximumAspectRatio) {
            found.append("aspect ratio range must satisfy 0 < minimum ≤ maximum")
        }
        if !(0...1).contains(horizontalFlipProbability) { found.append("horizontal_flip_probability must be in 0…1") }
        if !(0...45).contains(maximumRotationDegrees) { found.append("maximum_rotation_degrees must be in 0…45") }
        if !(0..<1).contains(brightness) { found.append("brightness must be in 0…1") }
        if !(0..<1).contains(contrast) { found.append("contrast must be in 0…1") }
        return found
    }
}

// MARK: - Applying

extension InputSpec {
    /// A randomly augmented version of `image`, height × width × channels, drawn from `generator`. With
    /// `config.enabled == false` this is ``prepare(_:)`` and draws nothing.
    public func augment(_ image: ByteImage, config: AugmentationConfig, using generator: inout SeededGenerator) -> ByteImage {
        guard config.enabled else { return prepare(image) }
        let converted = image.converted(toChannels: channels)
        let box = randomCropBox(width: converted.width, height: converted.height, config: config, using: &generator)
        var result = converted.resized(width: width, height: height, box: box)
        if config.maximumRotationDegrees > 0 {
            let degrees = (Double(generator.nextUniform()) * 2 - 1) * config.maximumRotationDegrees
            result = result.rotated(degrees: degrees)
        }
        if Double(generator.nextUniform()) < config.horizontalFlipProbability { result = result.flippedHorizontally() }
        let brightness = 1 + (Double(generator.nextUniform()) * 2 - 1) * config.brightness
        let contrast = 1 + (Double(generator.nextUniform()) * 2 - 1) * config.contrast
        return result.jittered(brightness: Float(brightness), contrast: Float(contrast))
    }

    /// Inception-style random resized crop box: area fraction and log aspect ratio drawn uniformly, up to ten
    /// tries, falling back to this spec's centre crop.
    func randomCropBox(width: Int, height: Int, config: AugmentationConfig, using generator: inout SeededGenerator) -> CropBox {
        let area = Double(width * height)
        let logMin = log(config.minimumAspectRatio), logMax = log(config.maximumAspectRatio)
        for _ in 0..<10 {
            let target = area * (config.minimumCropScale
                + Double(generator.nextUniform()) * (config.maximumCropScale - config.minimumCropScale))
            let ratio = exp(logMin + Double(generator.nextUniform()) * (logMax - logMin))
            let w = (target * ratio).squareRoot(), h = (target / ratio).squareRoot()
            if w <= Double(width) && h <= Double(height) && w >= 1 && h >= 1 {
                let x = Double(generator.nextUniform()) * (Double(width) - w)
                let y = Double(generator.nextUniform()) * (Double(height) - h)
                return CropBox(x: x, y: y, width: w, height: h)
            }
        }
        return cropBox(forImageWidth: width, height: height)
    }
}

extension Image where Pixel == UInt8 {
    /// The image rotated counter-clockwise by `degrees` about its centre, same size, bilinear sampling with
    /// edge pixels repeated outside the source.
    public func rotated(degrees: Double) -> ByteImage {
        if degrees == 0 || width == 0 || height == 0 { return self }
        let radians = degrees * .pi / 180
        let cosine = Float(cos(radians)), sine = Float(sin(radians))
        let cx = Float(width) / 2, cy = Float(height) / 2
        let c = channels
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { dest in
                for y in 0..<height {
                    for x in 0..<width {
                        // Inverse map: the source point that lands on output pixel centre (x, y). With y down,
                        // a counter-clockwise turn on screen maps source → output by (dx, dy) ↦ (dx·cos + dy·sin,
                        // −dx·sin + dy·cos); its inverse is used here.
                        let dx = Float(x) + 0.5 - cx, dy = Float(y) + 0.5 - cy
                        let sx = dx * cosine - dy * sine + cx - 0.5
                        let sy = dx * sine + dy * cosine + cy - 0.5
                        let fx = min(max(sx, 0), Float(width - 1)), fy = min(max(sy, 0), Float(height - 1))
                        let x0 = Int(fx), y0 = Int(fy)
                        let x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1)
                        let ax = fx - Float(x0), ay = fy - Float(y0)
                        for k in 0..<c {
                            let top = Float(source[(y0 * width + x0) * c + k]) * (1 - ax) + Float(source[(y0 * width + x1) * c + k]) * ax
                            let bottom = Float(source[(y1 * width + x0) * c + k]) * (1 - ax) + Float(source[(y1 * width + x1) * c + k]) * ax
                            dest[(y * width + x) * c + k] = UInt8(min(max(top * (1 - ay) + bottom * ay + 0.5, 0), 255))
                        }
                    }
                }
            }
        }
        return ByteImage(width: width, height: height, channels: c, pixels: out)
    }

    /// Brightness then contrast: v ↦ ((v·b) − m)·k + m, where m is the mean of v·b over all components
    /// (torchvision's ColorJitter uses the grey mean; for grey images they coincide). Rounded and clamped.
    public func jittered(brightness: Float, contrast: Float) -> ByteImage {
        if brightness == 1 && contrast == 1 { return self }
        var sum: Float = 0
        for v in pixels { sum += Float(v) }
        let mean = pixels.isEmpty ? 0 : sum / Float(pixels.count) * brightness
        let out = pixels.map { v -> UInt8 in
            let adjusted = (Float(v) * brightness - mean) * contrast + mean
            return UInt8(min(max(adjusted + 0.5, 0), 255))
        }
        return ByteImage(width: width, height: height, channels: channels, pixels: out)
    }
}
