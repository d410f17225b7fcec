/// The decoded image type: interleaved height × width × channels pixels, grey (1 channel) or RGB (3).
/// Channel conversion loops use unsafe buffers: they run on every decoded image.
import Foundation

/// A pixel component type an ``Image`` can hold: `UInt8` (0…255) or `Float` (0…1 by convention).
public protocol ImagePixel: Equatable, Sendable {
    static var zero: Self { get }
}
extension UInt8: ImagePixel {}
extension Float: ImagePixel {}

/// An image in HWC interleaved layout: pixel (x, y) channel c is `pixels[(y * width + x) * channels + c]`.
public struct Image<Pixel: ImagePixel>: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// 1 (grey) or 3 (RGB).
    public let channels: Int
    public var pixels: [Pixel]

    public init(width: Int, height: Int, channels: Int, pixels: [Pixel]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)×\(height)")
        precondition(channels == 1 || channels == 3, "images have 1 or 3 channels, got \(channels)")
        precondition(pixels.count == width * height * channels, "pixel count does not match \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    public init(width: Int, height: Int, channels: Int, repeating value: Pixel = .zero) {
        self.init(
            width: width, height: height, channels: channels,
            pixels: [Pixel](repeating: value, count: width * height * channels))
    }

    /// The components of pixel (x, y).
    public subscript(x: Int, y: Int) -> ArraySlice<Pixel> {
        let start = (y * width + x) * channels
        return pixels[start..<start + channels]
    }
}

/// 8-bit image, the form decoders produce and caches keep.
public typealias ByteImage = Image<UInt8>
/// Float image with components in 0…1.
public typealias FloatImage = Image<Float>

// MARK: - Channel conversion and element type

extension Image where Pixel == UInt8 {
    /// The image with `channels` channels: grey is replicated to RGB; RGB becomes grey through ITU-R BT.601
    /// luma (0.299 R + 0.587 G + 0.114 B), the formula Pillow's `convert("L")` and JPEG's Y channel use.
    public func converted(toChannels target: Int) -> ByteImage {
        precondition(target == 1 || target == 3, "images have 1 or 3 channels, got \(target)")
        if target == channels { return self }
        let count = width * height
        if target == 3 {
            var out = [UInt8](repeating: 0, count: count * 3)
            pixels.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBufferPointer { dest in
                    for i in 0..<count {
                        let v = source[i]
                        dest[3 * i] = v
                        dest[3 * i + 1] = v
                        dest[3 * i + 2] = v
                    }
                }
            }
            return ByteImage(width: width, height: height, channels: 3, pixels: out)
        }
        var out = [UInt8](repeating: 0, count: count)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { dest in
                for i in 0..<count {
                    // Fixed point with 16 fractional bits, rounded: 19595 + 38470 + 7471 = 65536.
                    let r = UInt32(source[3 * i]), g = UInt32(source[3 * i + 1]), b = UInt32(source[3 * i + 2])
                    dest[i] = UInt8((19595 * r + 38470 * g + 7471 * b + 32768) >> 16)
                }
            }
        }
        return ByteImage(width: width, height: height, channels: 1, pixels: out)
    }

    /// The image with components scaled to 0…1.
    public func floatImage() -> FloatImage {
        FloatImage(width: width, height: height, channels: channels, pixels: pixels.map { Float($0) * (1 / 255) })
    }
}

extension Image where Pixel == Float {
    /// The image rounded and clamped to 0…255.
    public func byteImage() -> ByteImage {
        ByteImage(
            width: width, height: height, channels: channels,
            pixels: pixels.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) })
    }
}
