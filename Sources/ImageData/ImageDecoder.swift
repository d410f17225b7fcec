/// Entry point for decoding: sniffs JPEG or PNG from the bytes (never the file name), applies the pixel cap,
/// EXIF orientation and the requested channel count.
import Foundation

/// How to decode: channel count, the decompression-bomb cap, and a size hint for DCT-domain downscaling.
public struct DecodeOptions: Sendable, Equatable {
    /// 1 or 3 to convert, `nil` to keep the file's own (grey stays grey, everything else becomes RGB).
    public var channels: Int?
    /// Images whose header declares more pixels than this are refused before any pixel buffer is allocated
    /// (decompression bombs): even a scaled JPEG decode entropy-decodes every block of the full image.
    public var maximumPixelCount: Int
    /// The most pixels the decode itself may produce, after the best DCT scaling that `minimumSize` allows;
    /// `nil` for no budget beyond `maximumPixelCount`. PNGs cannot scale, and libjpeg keeps a progressive or
    /// multi-scan JPEG's coefficients at full size (2 bytes each), so those count at their declared size.
    /// Refused from the header, before allocating, with ``ImageDataError/decodeBudgetExceeded(file:width:height:limit:)``.
    public var maximumDecodedPixelCount: Int?
    /// The smallest upright size the caller still needs (for example the model input size). JPEGs are then
    /// decoded at the smallest DCT scale (n/8) whose result still covers it, as Pillow's draft mode does.
    public var minimumSize: (width: Int, height: Int)?
    /// Turn images upright according to their EXIF orientation (a JPEG's APP1 segment, a PNG's eXIf chunk).
    public var appliesOrientation: Bool

    /// 120 megapixels: above any phone camera, far below what would exhaust memory.
    public static let defaultMaximumPixelCount = 120_000_000

    public init(
        channels: Int? = nil, maximumPixelCount: Int = DecodeOptions.defaultMaximumPixelCount,
        minimumSize: (width: Int, height: Int)? = nil, appliesOrientation: Bool = true,
        maximumDecodedPixelCount: Int? = nil
    ) {
        precondition(channels == nil || channels == 1 || channels == 3, "channels must be 1 or 3")
        self.channels = channels
        self.maximumPixelCount = maximumPixelCount
        self.maximumDecodedPixelCount = maximumDecodedPixelCount
        self.minimumSize = minimumSize
        self.appliesOrientation = appliesOrientation
    }

    public static func == (a: DecodeOptions, b: DecodeOptions) -> Bool {
        a.channels == b.channels && a.maximumPixelCount == b.maximumPixelCount
            && a.minimumSize?.width == b.minimumSize?.width && a.minimumSize?.height == b.minimumSize?.height
            && a.appliesOrientation == b.appliesOrientation && a.maximumDecodedPixelCount == b.maximumDecodedPixelCount
    }
}

/// The image formats ImageData reads.
public enum ImageFormat: String, Sendable, Codable {
    case jpeg, png

    /// Recognises the format from the first bytes; `nil` when it is neither.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= 8, Array(bytes[0..<8]) == png { return .png }
        return nil
    }

    /// File name extensions that are expected to hold images (used to report, not to decide the format).
    public static let fileExtensions: Set<String> = ["jpg", "jpeg", "jpe", "jfif", "png"]
}

/// The size and channel count an image declares in its header, read without decoding pixels.
public struct ImageHeader: Sendable, Equatable {
    public var format: ImageFormat
    /// Upright size (after EXIF orientation).
    public var width: Int
    public var height: Int
    /// 1 for grey files, 3 otherwise.
    public var channels: Int
}

/// Decodes JPEG and PNG images from memory or files.
public enum ImageDecoder {
    /// Decodes an image from memory. `fileName` only labels errors.
    public static func decode(
        _ data: Data, fileName: String? = nil, options: DecodeOptions = DecodeOptions()
    ) throws -> ByteImage {
        try data.withUnsafeBytes { try decode(bytes: $0, fileName: fileName, options: options) }
    }

    /// Decodes an image file.
    public static func decode(contentsOf url: URL, options: DecodeOptions = DecodeOptions()) throws -> ByteImage {
        try decode(try readFile(url), fileName: url.lastPathComponent, options: options)
    }

    /// Decodes an image from raw bytes.
    public static func decode(
        bytes: UnsafeRawBufferPointer, fileName: String? = nil, options: DecodeOptions = DecodeOptions()
    ) throws -> ByteImage {
        try byFormat(bytes, fileName: fileName,
                     jpeg: { try JPEGDecoder.decode(bytes, fileName: fileName, options: options) },
                     png: { try PNGDecoder.decode(bytes, fileName: fileName, options: options) })
    }

    /// The bytes that decoding `data` with `options` will allocate (pixel buffers, conversions, the rotated
    /// copy, a progressive JPEG's coefficients), worked out from the header alone, so that a caller can budget
    /// the decodes it runs at once. Throws what `decode` would throw from the header (pixel cap, decode
    /// budget, unreadable header); an upper bound, give or take libjpeg's and libpng's row buffers.
    public static func decodedByteCount(
        _ data: Data, fileName: String? = nil, options: DecodeOptions = DecodeOptions()
    ) throws -> Int {
        try data.withUnsafeBytes { bytes in
            try byFormat(bytes, fileName: fileName,
                         jpeg: { try JPEGDecoder.decodedByteCount(bytes, fileName: fileName, options: options) },
                         png: { try PNGDecoder.decodedByteCount(bytes, fileName: fileName, options: options) })
        }
    }

    /// Reads only the header: format, upright size and channels. Applies the pixel cap.
    public static func header(
        _ data: Data, fileName: String? = nil, maximumPixelCount: Int = DecodeOptions.defaultMaximumPixelCount
    ) throws -> ImageHeader {
        try data.withUnsafeBytes { bytes in
            let header = try byFormat(bytes, fileName: fileName, jpeg: { try JPEGDecoder.header(bytes, fileName: fileName) },
                                      png: { try PNGDecoder.header(bytes, fileName: fileName) })
            try checkPixelCount(width: header.width, height: header.height, limit: maximumPixelCount, fileName: fileName)
            return header
        }
    }

    // MARK: - Helpers shared by the codecs

    /// Runs the codec the bytes' signature names; empty and unknown files are errors naming the file.
    private static func byFormat<T>(_ bytes: UnsafeRawBufferPointer, fileName: String?, jpeg: () throws -> T,
                                    png: () throws -> T) throws -> T {
        if bytes.isEmpty { throw ImageDataError.emptyFile(file: fileName) }
        switch ImageFormat.sniff(bytes) {
        case .jpeg: return try jpeg()
        case .png: return try png()
        case nil: throw ImageDataError.unsupportedFormat(file: fileName, reason: describeUnknown(bytes))
        }
    }

    static func checkPixelCount(width: Int, height: Int, limit: Int, fileName: String?) throws {
        guard width > 0, height > 0 else {
            throw ImageDataError.corrupt(file: fileName, reason: "header declares \(width)×\(height) pixels")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > limit {
            throw ImageDataError.tooManyPixels(file: fileName, width: width, height: height, limit: limit)
        }
    }

    /// Refuses a decode of `width`×`height` (the size it will really produce) over the caller's budget.
    static func checkBudget(width: Int, height: Int, options: DecodeOptions, fileName: String?) throws {
        guard let budget = options.maximumDecodedPixelCount else { return }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > budget {
            throw ImageDataError.decodeBudgetExceeded(file: fileName, width: width, height: height, limit: budget)
        }
    }

    static func readFile(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw ImageDataError.io(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    private static func describeUnknown(_ bytes: UnsafeRawBufferPointer) -> String {
        let prefix = bytes.prefix(64)
        let printable = prefix.allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || (32...126).contains($0) }
        if printable { return "it looks like text" }
        let hex = prefix.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
        return "unknown signature \(hex)"
    }
}
