/// EXIF orientation: reading tag 0x0112 from a JPEG's APP1 segment or a PNG's eXIf chunk, and turning a stored
/// image upright.
/// Reads tags from the decoders' unsafe byte views (the JPEG and PNG bytes they already hold), each read bounds-checked
/// by hand; the pixel transposition loops use unsafe buffers for speed.
import Foundation

/// The eight EXIF orientations (TIFF tag 0x0112). The raw value names where the stored image's row 0 and
/// column 0 belong when displayed, e.g. `.rightTop` (6): row 0 is the visual right side, column 0 the top.
public enum Orientation: Int, Sendable, CaseIterable {
    case topLeft = 1, topRight, bottomRight, bottomLeft, leftTop, rightTop, rightBottom, leftBottom

    /// Whether the displayed image has width and height swapped relative to the stored one.
    public var swapsAxes: Bool { rawValue >= 5 }
}

// MARK: - Parsing

extension Orientation {
    /// The orientation recorded in a JPEG's Exif APP1 segment, or `.topLeft` when there is none or it cannot be
    /// parsed (a damaged Exif block must not make a good image unreadable). Never reads outside `bytes`.
    public static func fromJPEG(_ bytes: UnsafeRawBufferPointer) -> Orientation {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return .topLeft }
        var offset = 2
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { return .topLeft }
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill byte
            // Markers without a length: TEM and RSTn; SOS or EOI end the header.
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { offset += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return .topLeft }
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { return .topLeft }
            let payload = offset + 4
            let payloadEnd = offset + 2 + length
            if marker == 0xE1, payloadEnd - payload >= 14,
                Array(bytes[payload..<payload + 6]) == [0x45, 0x78, 0x69, 0x66, 0, 0]  // "Exif\0\0"
            {
                let tiff = UnsafeRawBufferPointer(rebasing: bytes[(payload + 6)..<payloadEnd])
                if let value = orientationTag(inTIFF: tiff) { return value }
            }
            offset = payloadEnd
        }
        return .topLeft
    }

    /// The orientation recorded in a PNG's `eXIf` chunk (PNG extensions 1.5, PNG 3rd edition), or `.topLeft` when
    /// there is none or it cannot be parsed. Browsers honour it, so a phone's rotated PNG screenshot or export is
    /// shown upright there and must be upright here too. Walks chunk headers only (no CRC check: libpng checks
    /// every chunk it decodes); never reads outside `bytes`.
    public static func fromPNG(_ bytes: UnsafeRawBufferPointer) -> Orientation {
        guard ImageFormat.sniff(bytes) == .png else { return .topLeft }
        func u32(_ at: Int) -> Int {
            Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = u32(offset)
            let type = (bytes[offset + 4], bytes[offset + 5], bytes[offset + 6], bytes[offset + 7])
            let data = offset + 8
            guard length <= bytes.count - data - 4 else { return .topLeft }
            if type == (0x65, 0x58, 0x49, 0x66) {  // "eXIf"
                // Some writers keep JPEG's "Exif\0\0" prefix here; readers such as Pillow skip it.
                let prefixed = length >= 6 && Array(bytes[data..<(data + 6)]) == [0x45, 0x78, 0x69, 0x66, 0, 0]
                let tiff = UnsafeRawBufferPointer(rebasing: bytes[(data + (prefixed ? 6 : 0))..<(data + length)])
                return orientationTag(inTIFF: tiff) ?? .topLeft
            }
            if type == (0x49, 0x45, 0x4E, 0x44) { return .topLeft }  // "IEND"
            offset = data + length + 4
        }
        return .topLeft
    }

    /// Finds tag 0x0112 in IFD0 of a TIFF structure (the body of an Exif segment or an eXIf chunk).
    static func orientationTag(inTIFF tiff: UnsafeRawBufferPointer) -> Orientation? {
        guard tiff.count >= 8 else { return nil }
        let littleEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): littleEndian = true  // "II"
        case (0x4D, 0x4D): littleEndian = false  // "MM"
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return littleEndian ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return littleEndian ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for index in 0..<count {
            let entry = ifd + 2 + 12 * index
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112 {
                // Type SHORT (3), count 1: the value sits in the first two bytes of the value field.
                guard u16(entry + 2) == 3, let value = u16(entry + 8) else { return nil }
                return Orientation(rawValue: value)
            }
        }
        return nil
    }
}

// MARK: - Applying

extension Image {
    /// The stored image turned upright for display according to `orientation` (Exif 2.3 §4.6.4 A, tag 0x0112).
    public func applying(_ orientation: Orientation) -> Image {
        if orientation == .topLeft { return self }
        let w = width, h = height, c = channels
        let outWidth = orientation.swapsAxes ? h : w
        let outHeight = orientation.swapsAxes ? w : h
        // source(x', y'): the stored pixel shown at display position (x', y').
        let source: (Int, Int) -> (Int, Int)
        switch orientation {
        case .topLeft: source = { ($0, $1) }
        case .topRight: source = { (w - 1 - $0, $1) }
        case .bottomRight: source = { (w - 1 - $0, h - 1 - $1) }
        case .bottomLeft: source = { ($0, h - 1 - $1) }
        case .leftTop: source = { ($1, $0) }
        case .rightTop: source = { ($1, h - 1 - $0) }
        case .rightBottom: source = { (w - 1 - $1, h - 1 - $0) }
        case .leftBottom: source = { (w - 1 - $1, $0) }
        }
        var out = [Pixel](repeating: .zero, count: pixels.count)
        pixels.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sx, sy) = source(x, y)
                        let from = (sy * w + sx) * c
                        let to = (y * outWidth + x) * c
                        for k in 0..<c { output[to + k] = input[from + k] }
                    }
                }
            }
        }
        return Image(width: outWidth, height: outHeight, channels: c, pixels: out)
    }

    /// The image mirrored left to right.
    public func flippedHorizontally() -> Image { applying(.topRight) }
}
