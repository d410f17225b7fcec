// Test fixtures made at run time through the same C libraries the decoders use (TurboJPEG's compressor and
// libpng's png_image writer), so every test knows the exact pixels it started from.
import CPNG
import CTurboJPEG
import Foundation
import ImageData
import Tensors

enum TestImages {
    /// A smooth RGB or grey test pattern: pixel (x, y) channel c = (x·a + y·b + c·40) mod 256, kept smooth.
    static func gradient(width: Int, height: Int, channels: Int) -> ByteImage {
        var pixels = [UInt8]()
        pixels.reserveCapacity(width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    let v = (x * 200 / max(width - 1, 1) + y * 50 / max(height - 1, 1) + c * 3) % 256
                    pixels.append(UInt8(v))
                }
            }
        }
        return ByteImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Random pixels from a seeded generator.
    static func noise(width: Int, height: Int, channels: Int, seed: UInt64) -> ByteImage {
        var generator = SeededGenerator(seed: seed)
        let pixels = (0..<(width * height * channels)).map { _ in UInt8(truncatingIfNeeded: generator.next() >> 56) }
        return ByteImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// JPEG bytes via tjCompress2 (4:4:4 so colour blocks survive exactly enough for tests).
    static func jpeg(_ image: ByteImage, quality: Int32 = 95, subsampling: TJSAMP = TJSAMP_444, progressive: Bool = false)
        -> Data
    {
        let handle = tjInitCompress()!
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            tjCompress2(
                handle, pixels.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(format.rawValue),
                &buffer, &size, Int32((image.channels == 1 ? TJSAMP_GRAY : subsampling).rawValue), quality,
                progressive ? TJFLAG_PROGRESSIVE : 0)
        }
        precondition(status == 0, String(cString: tjGetErrorStr2(handle)))
        defer { tjFree(buffer) }
        return Data(bytes: buffer!, count: Int(size))
    }

    /// An Exif TIFF body whose IFD0 holds an unrelated tag, then `orientation`.
    static func exifTIFF(orientation: Int, bigEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
        var tiff: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
        tiff += u16(42) + u32(8)  // IFD0 right after the header
        tiff += u16(2)  // two entries: an unrelated tag first, then orientation
        tiff += u16(0x010F) + u16(2) + u32(4) + [0x41, 0x42, 0x43, 0]  // Make = "ABC"
        tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + [0, 0]
        tiff += u32(0)  // no next IFD
        return tiff
    }

    /// The JPEG with an Exif APP1 segment holding `orientation` inserted right after SOI.
    static func withEXIF(_ jpeg: Data, orientation: Int, bigEndian: Bool) -> Data {
        let payload: [UInt8] = Array("Exif".utf8) + [0, 0] + exifTIFF(orientation: orientation, bigEndian: bigEndian)
        let length = payload.count + 2
        let segment: [UInt8] = [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
        var out = Data(jpeg.prefix(2))
        out.append(contentsOf: segment)
        out.append(jpeg.dropFirst(2))
        return out
    }

    /// The PNG with an `eXIf` chunk holding `orientation` inserted right after IHDR (signature 8 bytes, IHDR 25).
    static func pngWithEXIF(_ png: Data, orientation: Int, bigEndian: Bool) -> Data {
        let tiff = exifTIFF(orientation: orientation, bigEndian: bigEndian)
        let typeAndData = Array("eXIf".utf8) + tiff
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        let chunk = be32(UInt32(tiff.count)) + typeAndData + be32(crc32(typeAndData))
        var out = Data(png.prefix(33))
        out.append(contentsOf: chunk)
        out.append(png.dropFirst(33))
        return out
    }

    /// PNG bytes via png_image_write_to_memory. `format` is a PNG_FORMAT_* value describing `pixels`.
    static func png(width: Int, height: Int, format: UInt32, pixels: [UInt8], colormap: [UInt8]? = nil, entries: Int = 0)
        -> Data
    {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        image.colormap_entries = UInt32(entries)
        var size = 0
        let components = (format & UInt32(PNG_FORMAT_FLAG_COLORMAP)) != 0 ? 1 : Int(componentCount(format))
        let rowStride = Int32(width * components)
        let map = colormap ?? []
        let ok1 = pixels.withUnsafeBytes { raw in
            map.withUnsafeBytes { cmap in
                png_image_write_to_memory(&image, nil, &size, 0, raw.baseAddress, rowStride, colormap == nil ? nil : cmap.baseAddress)
            }
        }
        precondition(ok1 != 0, "png size query failed")
        var out = [UInt8](repeating: 0, count: size)
        let ok2 = out.withUnsafeMutableBytes { dest in
            pixels.withUnsafeBytes { raw in
                map.withUnsafeBytes { cmap in
                    png_image_write_to_memory(
                        &image, dest.baseAddress, &size, 0, raw.baseAddress, rowStride, colormap == nil ? nil : cmap.baseAddress)
                }
            }
        }
        precondition(ok2 != 0, "png write failed")
        return Data(out.prefix(size))
    }

    /// 16-bit PNG from linear 16-bit components (png_image writes these with gamma 1.0).
    static func png16(width: Int, height: Int, format: UInt32, components: [UInt16]) -> Data {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        var size = 0
        let perPixel = Int(componentCount(format))
        _ = components.withUnsafeBytes { raw in
            png_image_write_to_memory(&image, nil, &size, 0, raw.baseAddress, Int32(width * perPixel), nil)
        }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { dest in
            components.withUnsafeBytes { raw in
                png_image_write_to_memory(&image, dest.baseAddress, &size, 0, raw.baseAddress, Int32(width * perPixel), nil)
            }
        }
        precondition(ok != 0, "png16 write failed")
        return Data(out.prefix(size))
    }

    static func componentCount(_ format: UInt32) -> UInt32 {
        (format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1) + (format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0 ? 1 : 0)
    }

    /// CRC-32 (ISO-HDLC, as PNG uses), bit by bit: slow but obviously right.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A PNG whose IHDR (with a correct CRC) declares `width` × `height`, followed by a tiny IDAT and IEND.
    static func pngHeaderBomb(width: UInt32, height: UInt32) -> Data {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            return be32(UInt32(body.count)) + typed + be32(crc32(typed))
        }
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        bytes += chunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0])
        bytes += chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
        bytes += chunk("IEND", [])
        return Data(bytes)
    }

    /// A valid JPEG whose SOF marker is rewritten to declare `width` × `height`.
    static func jpegHeaderBomb(width: Int, height: Int) -> Data {
        var bytes = [UInt8](jpeg(gradient(width: 16, height: 16, channels: 3)))
        var i = 2
        while i + 9 < bytes.count {
            if bytes[i] == 0xFF && (bytes[i + 1] == 0xC0 || bytes[i + 1] == 0xC2) {
                bytes[i + 5] = UInt8(height >> 8); bytes[i + 6] = UInt8(height & 0xFF)
                bytes[i + 7] = UInt8(width >> 8); bytes[i + 8] = UInt8(width & 0xFF)
                return Data(bytes)
            }
            i += 1
        }
        fatalError("no SOF marker")
    }

    /// A fresh temporary folder, removed by the caller with `cleanUp`.
    static func temporaryFolder(_ name: String = #function) -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("graft-imagedata-\(safe)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
        precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
        return zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }
}
