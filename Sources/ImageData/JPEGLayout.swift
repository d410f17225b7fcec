/// What a JPEG's markers say about the memory libjpeg will need: a progressive or multi-scan file is
/// buffered as DCT coefficients for the whole image, whatever scale it is decoded at.
import Foundation

/// The frame and scan structure of a JPEG, read from its markers without decoding.
struct JPEGLayout: Equatable {
    /// SOF2, SOF6, SOF10 or SOF14.
    var isProgressive = false
    /// Start-of-scan markers seen (counting stops at 2: more than one is all that matters).
    var scanCount = 0
    /// Horizontal and vertical sampling factors of each component, from the frame header.
    var sampling: [(horizontal: Int, vertical: Int)] = []

    /// libjpeg keeps every coefficient of the image in memory (a "full buffer") for these files.
    var buffersWholeImage: Bool { isProgressive || scanCount > 1 }

    static func == (a: JPEGLayout, b: JPEGLayout) -> Bool {
        a.isProgressive == b.isProgressive && a.scanCount == b.scanCount
            && a.sampling.map(\.horizontal) == b.sampling.map(\.horizontal)
            && a.sampling.map(\.vertical) == b.sampling.map(\.vertical)
    }

    /// Walks the marker segments; entropy-coded data is skipped with `memchr` for the next 0xFF.
    init(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        var index = 2  // after SOI
        while index + 3 < count, scanCount < 2 {
            guard bytes[index] == 0xFF else { return }  // not at a marker: stop, the decoder will complain
            let marker = bytes[index + 1]
            if marker == 0xFF { index += 1; continue }  // fill byte
            if marker == 0xD9 { return }  // EOI
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { index += 2; continue }  // no length
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            let body = index + 4, end = index + 2 + length
            guard length >= 2, end <= count else { return }
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker), body + 6 <= end {
                isProgressive = [0xC2, 0xC6, 0xCA, 0xCE].contains(marker)
                let components = Int(bytes[body + 5])
                sampling = (0..<components).compactMap { component in
                    let offset = body + 6 + 3 * component + 1
                    guard offset < end else { return nil }
                    return (Int(bytes[offset] >> 4), Int(bytes[offset] & 0x0F))
                }
                if isProgressive { scanCount = 2; return }  // known already: no need to read further
            }
            index = end
            if marker == 0xDA {
                scanCount += 1
                index = Self.nextMarker(bytes, from: index)
            }
        }
    }

    /// The index of the first marker after entropy-coded data: 0xFF followed by neither 0x00 (a stuffed
    /// byte) nor a restart marker.
    private static func nextMarker(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let base = bytes.baseAddress!
        while index + 1 < bytes.count {
            guard let found = memchr(base + index, 0xFF, bytes.count - index) else { return bytes.count }
            index = base.distance(to: UnsafeRawPointer(found))
            guard index + 1 < bytes.count else { return bytes.count }
            let next = bytes[index + 1]
            if next == 0x00 || (0xD0...0xD7).contains(next) || next == 0xFF { index += 1; continue }
            return index
        }
        return bytes.count
    }

    /// Bytes of libjpeg's whole-image coefficient buffer for a `width`×`height` frame: per component, its
    /// blocks (rounded up to whole MCUs) × 64 coefficients × 2 bytes.
    func coefficientBytes(width: Int, height: Int) -> Int {
        let components = sampling.isEmpty ? [(horizontal: 1, vertical: 1), (1, 1), (1, 1)] : sampling
        let maxH = max(1, components.map(\.horizontal).max() ?? 1)
        let maxV = max(1, components.map(\.vertical).max() ?? 1)
        func blocks(_ size: Int, _ factor: Int, _ maximum: Int) -> Int {
            let samples = (size * max(1, factor) + maximum - 1) / maximum
            let count = (samples + 7) / 8
            return (count + max(1, factor) - 1) / max(1, factor) * max(1, factor)
        }
        return components.reduce(0) { total, factor in
            total + blocks(width, factor.horizontal, maxH) * blocks(height, factor.vertical, maxV) * 64 * 2
        }
    }
}
