/// PNG decoding through libpng's simplified `png_image` API, which converts 8/16-bit, grey, palette and
/// alpha to the format asked for and reports errors without longjmp into Swift frames.
import CPNG
import Foundation

/// Decodes PNG bytes to 8-bit grey or RGB, upright per an `eXIf` orientation; transparent pixels are composited
/// over white.
/// libpng keeps the address of the `png_image` as its error context, so the struct lives on the heap and never
/// moves between `begin_read` and `finish_read`.
enum PNGDecoder {
    static func header(_ bytes: UnsafeRawBufferPointer, fileName: String?) throws -> ImageHeader {
        let image = try begin(bytes, fileName: fileName)
        defer { release(image) }
        let isColor = image.pointee.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let width = Int(image.pointee.width), height = Int(image.pointee.height)
        let swaps = Orientation.fromPNG(bytes).swapsAxes
        return ImageHeader(
            format: .png, width: swaps ? height : width, height: swaps ? width : height, channels: isColor ? 3 : 1)
    }

    /// Output buffer, the rotated copy and libpng's row buffer (at most 8 bytes a pixel: 16-bit RGBA).
    static func decodedByteCount(_ bytes: UnsafeRawBufferPointer, fileName: String?, options: DecodeOptions) throws -> Int {
        let image = try begin(bytes, fileName: fileName)
        defer { release(image) }
        let (width, height, channels) = try plan(image, fileName: fileName, options: options)
        let rotates = options.appliesOrientation && Orientation.fromPNG(bytes) != .topLeft
        return width * height * channels * (rotates ? 2 : 1) + width * 8
    }

    /// Size and output channels, once the pixel cap and the decode budget (PNG cannot scale) allow them.
    private static func plan(
        _ image: UnsafeMutablePointer<png_image>, fileName: String?, options: DecodeOptions
    ) throws -> (width: Int, height: Int, channels: Int) {
        let width = Int(image.pointee.width), height = Int(image.pointee.height)
        try ImageDecoder.checkPixelCount(width: width, height: height, limit: options.maximumPixelCount, fileName: fileName)
        try ImageDecoder.checkBudget(width: width, height: height, options: options, fileName: fileName)
        let isColor = image.pointee.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        return (width, height, options.channels ?? (isColor ? 3 : 1))
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, fileName: String?, options: DecodeOptions) throws -> ByteImage {
        let image = try begin(bytes, fileName: fileName)
        defer { release(image) }
        let (width, height, channels) = try plan(image, fileName: fileName, options: options)
        image.pointee.format = channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        // With a NULL background libpng composites alpha onto the buffer's contents: start from white.
        var pixels = [UInt8](repeating: 255, count: width * height * channels)
        let ok = pixels.withUnsafeMutableBytes { buffer in
            png_image_finish_read(image, nil, buffer.baseAddress, Int32(width * channels), nil)
        }
        if ok == 0 { throw failure(image, fileName: fileName) }
        let decoded = ByteImage(width: width, height: height, channels: channels, pixels: pixels)
        let orientation = options.appliesOrientation ? Orientation.fromPNG(bytes) : .topLeft
        return orientation == .topLeft ? decoded : decoded.applying(orientation)
    }

    private static func begin(_ bytes: UnsafeRawBufferPointer, fileName: String?) throws -> UnsafeMutablePointer<png_image> {
        let image = UnsafeMutablePointer<png_image>.allocate(capacity: 1)
        image.initialize(to: png_image())
        image.pointee.version = UInt32(PNG_IMAGE_VERSION)
        if png_image_begin_read_from_memory(image, bytes.baseAddress, bytes.count) == 0 {
            let error = failure(image, fileName: fileName)
            release(image)
            throw error
        }
        return image
    }

    private static func release(_ image: UnsafeMutablePointer<png_image>) {
        png_image_free(image)  // safe after an error or after finish_read has already freed it
        image.deinitialize(count: 1)
        image.deallocate()
    }

    private static func failure(_ image: UnsafeMutablePointer<png_image>, fileName: String?) -> ImageDataError {
        var copy = image.pointee.message
        let message = withUnsafeBytes(of: &copy) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let lowered = message.lowercased()
        if lowered.contains("eof") || lowered.contains("truncat") || lowered.contains("not enough")
            || lowered.contains("too short") || lowered.contains("read beyond end")
        {
            return .truncated(file: fileName, reason: message)
        }
        return .corrupt(file: fileName, reason: message.isEmpty ? "libpng error" : message)
    }
}
