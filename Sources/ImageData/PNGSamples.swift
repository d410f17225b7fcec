/// A PNG's samples as stored (libpng's low-level reader in the CPNG shim) converted to 8-bit grey or RGB by
/// Pillow 9.4's rules: the pixels a torchvision user's `Image.open(path).convert("RGB")` sees.
/// Unsafe buffers here: the conversion runs over every pixel of every PNG decoded.
import CPNG
import Foundation

/// The layout of a PNG's decoded samples: palettes expanded to RGB or RGBA, grey below 8 bits expanded to 8,
/// everything else as stored (no gamma, alpha not premultiplied, 16-bit big-endian).
struct PNGSampleLayout {
    var width: Int
    var height: Int
    /// 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    var channels: Int
    /// 8 or 16.
    var bitDepth: Int

    /// The image Pillow makes of `samples`: grey files (L, LA) give one channel, colour files three.
    ///
    /// Pillow opens 8-bit files as L, LA, RGB, RGBA or P; 16-bit colour and grey + alpha keep the high byte of each
    /// sample (its "RGB;16B", "RGBA;16B" and "LA;16B" raw modes); 16-bit grey becomes mode I (32-bit integers),
    /// which `convert` clips to 0…255, so every sample above 255 turns white. `convert("RGB")` drops alpha (a
    /// transparent pixel keeps its stored colour) and ignores tRNS; gamma chunks (gAMA, sRGB, iCCP) are ignored.
    func pillowImage(_ samples: UnsafePointer<UInt8>) -> ByteImage {
        let colours = channels >= 3 ? 3 : 1
        let count = width * height
        let step = channels * bitDepth / 8
        let pixels = [UInt8](unsafeUninitializedCapacity: count * colours) { out, initialised in
            if bitDepth == 16 && channels == 1 {
                for i in 0..<count { out[i] = samples[2 * i] == 0 ? samples[2 * i + 1] : 255 }
            } else {
                let byteOffset = bitDepth == 16 ? 2 : 1  // 16 bits: every other byte, the high one
                for i in 0..<count {
                    let sample = samples + i * step
                    for c in 0..<colours { out[i * colours + c] = sample[c * byteOffset] }
                }
            }
            initialised = count * colours
        }
        return ByteImage(width: width, height: height, channels: colours, pixels: pixels)
    }
}

extension PNGDecoder {
    /// The Pillow image of `bytes` (``PNGSampleLayout/pillowImage(_:)``), refusing more than `maximumPixelCount`
    /// pixels before allocating.
    static func decodePillowImage(
        _ bytes: UnsafeRawBufferPointer, maximumPixelCount: Int, fileName: String?
    ) throws -> ByteImage {
        var samples: UnsafeMutablePointer<UInt8>? = nil
        var width: UInt32 = 0, height: UInt32 = 0
        var channels: Int32 = 0, depth: Int32 = 0
        var message = [CChar](repeating: 0, count: 200)
        let ok = message.withUnsafeMutableBufferPointer { text in
            graft_png_decode_samples(
                bytes.baseAddress, bytes.count, maximumPixelCount, &samples, &width, &height, &channels, &depth,
                text.baseAddress)
        }
        guard ok != 0, let samples else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw error(message: reason, fileName: fileName)
        }
        defer { free(samples) }
        let layout = PNGSampleLayout(width: Int(width), height: Int(height), channels: Int(channels), bitDepth: Int(depth))
        return layout.pillowImage(samples)
    }
}
