/// Antialiased resampling exactly as Pillow 9.4's `Image.resize(size, Image.BILINEAR, box)` computes it (written
/// anew from its algorithm in `libImaging/Resample.c`): a separable triangle filter whose support widens with the
/// downscale factor, coefficients computed in double, normalised, then rounded to 22-bit fixed point; a horizontal
/// pass over the rows the vertical pass needs, rounded and clipped to 8 bits, then the vertical pass; a pass whose
/// size and box do not change is skipped. Integer sums make the result independent of summation order, so the
/// output equals Pillow's to the level.
/// Unsafe pointers here, outside Tensors, by design: the per-pixel filter loops run on every image of every request
/// and epoch, and checked indexing keeps them from vectorising.
import Foundation

/// A rectangle in source pixel coordinates; edges may be fractional. Pixel i covers [i, i + 1).
public struct CropBox: Equatable, Sendable, Codable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The whole of an image.
    public static func whole(width: Int, height: Int) -> CropBox {
        CropBox(x: 0, y: 0, width: Double(width), height: Double(height))
    }
}

/// Filter taps for one axis: output i reads `counts[i]` inputs from `starts[i]`, weights at `i * stride`.
struct ResampleTaps {
    /// Pillow's `PRECISION_BITS` (32 − 8 − 2): 8 bits of result and 2 of headroom in an `int`.
    static let precisionBits: Int32 = 22

    var starts: [Int]
    var counts: [Int]
    /// Fixed-point weights, `1 << precisionBits` meaning 1.
    var weights: [Int32]
    var stride: Int

    /// Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` for the bilinear filter (support 1): the span
    /// [boxStart, boxEnd) of `inputSize` samples onto `outputSize` samples. The box edges are single precision,
    /// as Pillow's `float box[4]` holds them, and their difference is taken in single precision too.
    init(inputSize: Int, outputSize: Int, boxStart: Float, boxEnd: Float) {
        precondition(inputSize > 0 && outputSize > 0 && boxEnd > boxStart, "empty resample range")
        let scale = Double(boxEnd - boxStart) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale
        let inverse = 1.0 / filterScale
        stride = Int(support.rounded(.up)) * 2 + 1
        starts = [Int](repeating: 0, count: outputSize)
        counts = [Int](repeating: 0, count: outputSize)
        weights = [Int32](repeating: 0, count: outputSize * stride)
        var taps = [Double](repeating: 0, count: stride)
        for i in 0..<outputSize {
            let center = Double(boxStart) + (Double(i) + 0.5) * scale
            // C's (int) truncates toward zero: Int(_:) does the same.
            let first = max(Int(center - support + 0.5), 0)
            let count = min(Int(center + support + 0.5), inputSize) - first
            var total = 0.0
            for k in 0..<max(count, 0) {
                let t = abs((Double(k + first) - center + 0.5) * inverse)
                taps[k] = t < 1 ? 1 - t : 0
                total += taps[k]
            }
            starts[i] = first
            counts[i] = max(count, 0)
            let one = Double(1 << Self.precisionBits)
            for k in 0..<max(count, 0) {
                let normalised = total != 0 ? taps[k] / total : taps[k]
                weights[i * stride + k] = Int32(0.5 + normalised * one)  // weights are ≥ 0: Pillow's positive branch
            }
        }
    }

    /// The input span `starts.min ..< (starts + counts).max` that the outputs in `outputs` read.
    func inputSpan(of outputs: Range<Int>) -> Range<Int> {
        let first = outputs.map { starts[$0] }.min()!
        let end = outputs.map { starts[$0] + counts[$0] }.max()!
        return first..<max(end, first)
    }
}

extension Image where Pixel == UInt8 {
    /// The part of the image inside `box` (the whole image by default) resampled to `width` × `height` with
    /// Pillow's BILINEAR filter, equal to Pillow's `resize((width, height), BILINEAR, box)`.
    public func resized(width outWidth: Int, height outHeight: Int, box: CropBox? = nil) -> ByteImage {
        resized(width: outWidth, height: outHeight, box: box, keeping: 0..<outWidth, rows: 0..<outHeight)
    }

    /// Only the columns `columns` and rows `rows` of that resize (an integer crop of it), computed without the rest:
    /// each output pixel depends only on its own coordinates, so the crop equals the crop of the whole resize.
    public func resized(
        width outWidth: Int, height outHeight: Int, box: CropBox? = nil, keeping columns: Range<Int>, rows: Range<Int>
    ) -> ByteImage {
        precondition(outWidth > 0 && outHeight > 0, "resize target must be positive, got \(outWidth)×\(outHeight)")
        precondition(width > 0 && height > 0, "cannot resize an empty image")
        precondition(columns.lowerBound >= 0 && columns.upperBound <= outWidth && !columns.isEmpty
            && rows.lowerBound >= 0 && rows.upperBound <= outHeight && !rows.isEmpty, "crop outside the resized image")
        let box = box ?? .whole(width: width, height: height)
        let x0 = Float(box.x), x1 = Float(box.x + box.width), y0 = Float(box.y), y1 = Float(box.y + box.height)
        precondition(x0 >= 0 && y0 >= 0 && x1 <= Float(width) && y1 <= Float(height) && x1 > x0 && y1 > y0,
                     "box \(box) is not inside the \(width)×\(height) image")
        // Pillow's test compares the box's right edge with the output size; equal sizes make it the input's.
        let needsHorizontal = outWidth != width || x0 != 0 || x1 != Float(outWidth)
        let needsVertical = outHeight != height || y0 != 0 || y1 != Float(outHeight)
        let c = channels
        if !needsHorizontal && !needsVertical { return cropped(columns: columns, rows: rows) }

        let rowTaps = ResampleTaps(inputSize: height, outputSize: outHeight, boxStart: y0, boxEnd: y1)
        // The rows the vertical pass reads (all of the kept rows when it is skipped).
        let sourceRows = needsVertical ? rowTaps.inputSpan(of: rows) : rows
        let middle: ByteImage
        if needsHorizontal {
            let columnTaps = ResampleTaps(inputSize: width, outputSize: outWidth, boxStart: x0, boxEnd: x1)
            middle = horizontalPass(columnTaps, columns: columns, rows: sourceRows)
        } else {
            middle = cropped(columns: columns, rows: sourceRows)
        }
        guard needsVertical else { return middle }

        let rowLength = columns.count * c
        let first = sourceRows.lowerBound
        var output = [UInt8](unsafeUninitializedCapacity: rows.count * rowLength) { $1 = $0.count }
        let half: Int32 = 1 << (ResampleTaps.precisionBits - 1)
        middle.pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { out in
                rowTaps.weights.withUnsafeBufferPointer { weights in
                    var accumulator = [Int32](repeating: 0, count: rowLength)
                    accumulator.withUnsafeMutableBufferPointer { acc in
                        for (index, y) in rows.enumerated() {
                            for i in 0..<rowLength { acc[i] = half }
                            let taps = weights.baseAddress! + y * rowTaps.stride
                            for k in 0..<rowTaps.counts[y] {
                                let w = taps[k]
                                let row = source.baseAddress! + (rowTaps.starts[y] + k - first) * rowLength
                                for i in 0..<rowLength { acc[i] &+= Int32(row[i]) &* w }  // vectorises
                            }
                            let target = out.baseAddress! + index * rowLength
                            for i in 0..<rowLength { target[i] = Self.clip8(acc[i]) }
                        }
                    }
                }
            }
        }
        return ByteImage(width: columns.count, height: rows.count, channels: c, pixels: output)
    }

    /// Pillow's `clip8`: the sum shifted out of fixed point, clamped to 0…255.
    @inline(__always)
    static func clip8(_ sum: Int32) -> UInt8 {
        let value = sum >> ResampleTaps.precisionBits
        return UInt8(truncatingIfNeeded: value < 0 ? 0 : (value > 255 ? 255 : value))
    }

    /// The integer rectangle `columns` × `rows` of the image.
    func cropped(columns: Range<Int>, rows: Range<Int>) -> ByteImage {
        if columns == 0..<width && rows == 0..<height { return self }
        let c = channels, rowLength = columns.count * c
        var output = [UInt8]()
        output.reserveCapacity(rows.count * rowLength)
        for y in rows {
            let start = (y * width + columns.lowerBound) * c
            output.append(contentsOf: pixels[start..<(start + rowLength)])
        }
        return ByteImage(width: columns.count, height: rows.count, channels: c, pixels: output)
    }

    /// The horizontal pass of source rows `rows`, for output columns `columns` only: a `columns.count` ×
    /// `rows.count` image, each component rounded and clipped to 8 bits as Pillow's intermediate image is.
    private func horizontalPass(_ taps: ResampleTaps, columns: Range<Int>, rows: Range<Int>) -> ByteImage {
        let c = channels, rowLength = columns.count * c
        var output = [UInt8](unsafeUninitializedCapacity: rows.count * rowLength) { $1 = $0.count }
        let half: Int32 = 1 << (ResampleTaps.precisionBits - 1)
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { out in
                taps.weights.withUnsafeBufferPointer { weights in
                    taps.starts.withUnsafeBufferPointer { starts in
                        taps.counts.withUnsafeBufferPointer { counts in
                            for (index, y) in rows.enumerated() {
                                let input = source.baseAddress! + y * width * c
                                let row = out.baseAddress! + index * rowLength
                                for (slot, x) in columns.enumerated() {
                                    let w = weights.baseAddress! + x * taps.stride
                                    if c == 3 {
                                        var p = input + starts[x] * 3
                                        var r = half, g = half, b = half
                                        for k in 0..<counts[x] {
                                            r &+= Int32(p[0]) &* w[k]
                                            g &+= Int32(p[1]) &* w[k]
                                            b &+= Int32(p[2]) &* w[k]
                                            p += 3
                                        }
                                        row[3 * slot] = Self.clip8(r)
                                        row[3 * slot + 1] = Self.clip8(g)
                                        row[3 * slot + 2] = Self.clip8(b)
                                    } else {
                                        let p = input + starts[x]
                                        var v = half
                                        for k in 0..<counts[x] { v &+= Int32(p[k]) &* w[k] }
                                        row[slot] = Self.clip8(v)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return ByteImage(width: columns.count, height: rows.count, channels: c, pixels: output)
    }
}
