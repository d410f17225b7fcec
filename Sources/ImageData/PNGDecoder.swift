/// PNG decoding through libpng: the simplified `png_image` API reads the header and checks the file, the CPNG shim
/// reads the samples as stored (see PNGSamples.swift); neither longjmps into Swift frames.
import CPNG
import Foundation

/// Decodes PNG bytes to 8-bit grey or RGB, upright per an `eXIf` orientation, with the pixels Pillow 9.4's
/// `Image.open(...).convert("RGB")` (or `"L"`) gives, so that predictions agree with a torchvision pipeline: alpha is
/// dropped, not composited; 16-bit colour keeps the high byte; 16-bit grey is clipped to 0…255 (Pillow reads it as
/// 32-bit integers); no gamma correction (see ``PNGSampleLayout``).
/// libpng keeps the address of the `png_image` as its error context, so the struct lives on the heap and never
/// moves before it is freed.
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

    /// The samples as stored (up to 8 bytes a pixel: 16-bit RGBA) and their row pointers, Pillow's grey or RGB image
    /// made from them, the conversion to the channels asked for, the rotated copy, and libpng's row buffer.
    static func decodedByteCount(_ bytes: UnsafeRawBufferPointer, fileName: String?, options: DecodeOptions) throws -> Int {
        let image = try begin(bytes, fileName: fileName)
        defer { release(image) }
        let (width, height, channels) = try plan(image, fileName: fileName, options: options)
        let format = image.pointee.format
        let colours = format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1
        let components = colours + (format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0 ? 1 : 0)
        let sampleBytes = format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0 ? 2 : 1  // the simplified API's mark of 16 bits
        let pixels = width * height
        let rotates = options.appliesOrientation && Orientation.fromPNG(bytes) != .topLeft
        return pixels * components * sampleBytes + height * 8 + pixels * colours
            + (channels == colours ? 0 : pixels * channels) + (rotates ? pixels * channels : 0) + width * 8
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
        let (_, _, channels) = try plan(image, fileName: fileName, options: options)
        let stored = try decodePillowImage(bytes, maximumPixelCount: options.maximumPixelCount, fileName: fileName)
        let decoded = stored.converted(toChannels: channels)
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
        return error(message: message, fileName: fileName)
    }

    /// libpng's message as truncated or corrupt.
    static func error(message: String, fileName: String?) -> ImageDataError {
        let lowered = message.lowercased()
        if lowered.contains("eof") || lowered.contains("truncat") || lowered.contains("not enough")
            || lowered.contains("too short") || lowered.contains("read beyond end")
        {
            return .truncated(file: fileName, reason: message)
        }
        return .corrupt(file: fileName, reason: message.isEmpty ? "libpng error" : message)
    }
}
