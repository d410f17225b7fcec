/// JPEG decoding through libjpeg-turbo's TurboJPEG API, with DCT-domain downscaling and EXIF orientation.
import CTurboJPEG
import Foundation

/// Decodes JPEG bytes. TurboJPEG reports errors as return codes (no longjmp into Swift frames).
enum JPEGDecoder {
    /// The scaling factors ≤ 1 that the decompressor supports (n/8), largest first.
    private static let scalingFactors: [tjscalingfactor] = {
        var count: Int32 = 0
        guard let list = tjGetScalingFactors(&count) else { return [tjscalingfactor(num: 1, denom: 1)] }
        return (0..<Int(count)).map { list[$0] }.filter { $0.num <= $0.denom }
            .sorted { Double($0.num) / Double($0.denom) > Double($1.num) / Double($1.denom) }
    }()

    static func scaled(_ dimension: Int, _ factor: tjscalingfactor) -> Int {
        (dimension * Int(factor.num) + Int(factor.denom) - 1) / Int(factor.denom)  // TJSCALED
    }

    /// The smallest supported factor whose result still covers `minimum` (stored orientation).
    static func scalingFactor(width: Int, height: Int, minimum: (width: Int, height: Int)?) -> tjscalingfactor {
        var chosen = tjscalingfactor(num: 1, denom: 1)
        guard let minimum else { return chosen }
        for factor in scalingFactors
        where scaled(width, factor) >= minimum.width && scaled(height, factor) >= minimum.height {
            chosen = factor  // sorted largest first, so the last match is the smallest factor that covers
        }
        return chosen
    }

    static func header(_ bytes: UnsafeRawBufferPointer, fileName: String?) throws -> ImageHeader {
        guard let handle = tjInitDecompress() else {
            throw ImageDataError.corrupt(file: fileName, reason: "cannot create a JPEG decompressor")
        }
        defer { tjDestroy(handle) }
        let info = try readHeader(handle, bytes, fileName: fileName)
        let orientation = Orientation.fromJPEG(bytes)
        return ImageHeader(
            format: .jpeg,
            width: orientation.swapsAxes ? info.height : info.width,
            height: orientation.swapsAxes ? info.width : info.height,
            channels: info.colorspace == Int32(TJCS_GRAY.rawValue) ? 1 : 3)
    }

    /// How a decode will run, from the header alone: the scale, output size and format, and what it allocates.
    private struct Plan {
        var factor: tjscalingfactor
        var width: Int
        var height: Int
        var channels: Int
        var isCMYK: Bool
        var orientation: Orientation
        var allocatedBytes: Int
        var pixelFormat: TJPF { isCMYK ? TJPF_CMYK : (channels == 1 ? TJPF_GRAY : TJPF_RGB) }
        var bytesPerPixel: Int { isCMYK ? 4 : channels }
    }

    private static func plan(
        _ handle: tjhandle, _ bytes: UnsafeRawBufferPointer, fileName: String?, options: DecodeOptions
    ) throws -> Plan {
        let info = try readHeader(handle, bytes, fileName: fileName)
        try ImageDecoder.checkPixelCount(
            width: info.width, height: info.height, limit: options.maximumPixelCount, fileName: fileName)

        let orientation = options.appliesOrientation ? Orientation.fromJPEG(bytes) : .topLeft
        var minimum = options.minimumSize
        if orientation.swapsAxes, let size = minimum { minimum = (size.height, size.width) }
        let factor = scalingFactor(width: info.width, height: info.height, minimum: minimum)
        let width = scaled(info.width, factor), height = scaled(info.height, factor)
        // A progressive or multi-scan file is held at full size as coefficients: scaling saves nothing there.
        let layout = JPEGLayout(bytes)
        if layout.buffersWholeImage {
            try ImageDecoder.checkBudget(width: info.width, height: info.height, options: options, fileName: fileName)
        } else {
            try ImageDecoder.checkBudget(width: width, height: height, options: options, fileName: fileName)
        }

        let isGrey = info.colorspace == Int32(TJCS_GRAY.rawValue)
        let isCMYK = info.colorspace == Int32(TJCS_CMYK.rawValue) || info.colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = options.channels ?? (isGrey ? 1 : 3)
        let pixels = width * height
        var allocated = pixels * (isCMYK ? 4 : channels)
        if isCMYK { allocated += pixels * 3 + (channels == 3 ? 0 : pixels) }  // RGB, then grey if asked
        if orientation != .topLeft { allocated += pixels * channels }
        if layout.buffersWholeImage { allocated += layout.coefficientBytes(width: info.width, height: info.height) }
        return Plan(factor: factor, width: width, height: height, channels: channels, isCMYK: isCMYK,
                    orientation: orientation, allocatedBytes: allocated)
    }

    static func decodedByteCount(_ bytes: UnsafeRawBufferPointer, fileName: String?, options: DecodeOptions) throws -> Int {
        guard let handle = tjInitDecompress() else {
            throw ImageDataError.corrupt(file: fileName, reason: "cannot create a JPEG decompressor")
        }
        defer { tjDestroy(handle) }
        return try plan(handle, bytes, fileName: fileName, options: options).allocatedBytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, fileName: String?, options: DecodeOptions) throws -> ByteImage {
        guard let handle = tjInitDecompress() else {
            throw ImageDataError.corrupt(file: fileName, reason: "cannot create a JPEG decompressor")
        }
        defer { tjDestroy(handle) }
        let plan = try plan(handle, bytes, fileName: fileName, options: options)
        let factor = plan.factor, width = plan.width, height = plan.height, channels = plan.channels
        let isCMYK = plan.isCMYK, orientation = plan.orientation
        let pixelFormat = plan.pixelFormat, bytesPerPixel = plan.bytesPerPixel
        // Pillow's draft mode also trades exactness for speed once it scales in the DCT domain.
        let flags = factor.num == factor.denom ? 0 : (TJFLAG_FASTDCT | TJFLAG_FASTUPSAMPLE)

        // The decompressor writes every byte (on a premature end it fills the rest), so skip zeroing.
        var status: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * bytesPerPixel) { output, count in
            status = tjDecompress2(
                handle, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(bytes.count),
                output.baseAddress, Int32(width), 0, Int32(height), Int32(pixelFormat.rawValue), Int32(flags))
            if status != 0 { output.initialize(repeating: 0) }  // never expose stale memory after a failure
            count = output.count
        }
        if status != 0 {
            let message = String(cString: tjGetErrorStr2(handle))
            let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
            if message.contains("Premature end") {
                throw ImageDataError.truncated(file: fileName, reason: message)
            }
            // Other warnings (extraneous bytes, unknown markers) leave a usable image, as in Pillow.
            if !isWarning { throw ImageDataError.corrupt(file: fileName, reason: message) }
        }
        var image: ByteImage
        if isCMYK {
            image = cmykToRGB(pixels, width: width, height: height).converted(toChannels: channels)
        } else {
            image = ByteImage(width: width, height: height, channels: channels, pixels: pixels)
        }
        if orientation != .topLeft { image = image.applying(orientation) }
        return image
    }

    // MARK: - Private

    private struct HeaderInfo {
        var width: Int
        var height: Int
        var colorspace: Int32
    }

    private static func readHeader(
        _ handle: tjhandle, _ bytes: UnsafeRawBufferPointer, fileName: String?
    ) throws -> HeaderInfo {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let status = tjDecompressHeader3(
            handle, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(bytes.count),
            &width, &height, &subsampling, &colorspace)
        if status != 0 {
            let message = String(cString: tjGetErrorStr2(handle))
            if message.contains("Premature end") || message.contains("insufficient") {
                throw ImageDataError.truncated(file: fileName, reason: message)
            }
            throw ImageDataError.corrupt(file: fileName, reason: message)
        }
        return HeaderInfo(width: Int(width), height: Int(height), colorspace: colorspace)
    }

    /// Adobe-style (inverted) CMYK to RGB: R = C·K / 255, the convention Pillow follows for such files.
    private static func cmykToRGB(_ cmyk: [UInt8], width: Int, height: Int) -> ByteImage {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            let k = UInt32(cmyk[4 * i + 3])
            for c in 0..<3 { rgb[3 * i + c] = UInt8((UInt32(cmyk[4 * i + c]) * k + 127) / 255) }
        }
        return ByteImage(width: width, height: height, channels: 3, pixels: rgb)
    }
}
