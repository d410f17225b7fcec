/// Antialiased resampling: a separable triangle (bilinear) filter whose support widens with the downscale
/// factor, so that shrinking a 4000-px photo averages every source pixel instead of aliasing (the scheme of
/// Pillow's `resize(..., BILINEAR)`, written anew here).
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
    var starts: [Int]
    var counts: [Int]
    var weights: [Float]
    var stride: Int

    /// Triangle filter taps mapping the span [boxStart, boxStart + boxLength) of `inputSize` samples onto
    /// `outputSize` samples. Support is 1 input pixel when enlarging and `scale` pixels when shrinking.
    init(inputSize: Int, outputSize: Int, boxStart: Double, boxLength: Double) {
        precondition(inputSize > 0 && outputSize > 0 && boxLength > 0, "empty resample range")
        let scale = boxLength / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filterScale  // the triangle's radius is 1, widened by the downscale factor
        stride = Int(support.rounded(.up)) * 2 + 1
        starts = [Int](repeating: 0, count: outputSize)
        counts = [Int](repeating: 0, count: outputSize)
        weights = [Float](repeating: 0, count: outputSize * stride)
        var taps = [Double](repeating: 0, count: stride)
        for i in 0..<outputSize {
            let center = boxStart + (Double(i) + 0.5) * scale
            let first = max(Int((center - support).rounded(.down)), 0)
            let end = min(Int((center + support).rounded(.up)), inputSize)
            var total = 0.0
            var count = 0
            for j in first..<max(end, first) where count < stride {
                // Distance from the filter centre to the centre of input pixel j, in filter units.
                let t = abs((Double(j) + 0.5 - center) / filterScale)
                let w = max(0, 1 - t)
                taps[count] = w
                total += w
                count += 1
            }
            if total == 0 {  // a box entirely outside the image: take the nearest edge pixel
                starts[i] = min(max(Int(center), 0), inputSize - 1)
                counts[i] = 1
                weights[i * stride] = 1
                continue
            }
            // Trim zero-weight taps at both ends so loops touch only contributing pixels.
            var lo = 0, hi = count
            while lo < hi - 1 && taps[lo] == 0 { lo += 1 }
            while hi - 1 > lo && taps[hi - 1] == 0 { hi -= 1 }
            starts[i] = first + lo
            counts[i] = hi - lo
            for k in lo..<hi { weights[i * stride + k - lo] = Float(taps[k] / total) }
        }
    }
}

extension Image where Pixel == UInt8 {
    /// The part of the image inside `box` (the whole image by default) resampled to `width` × `height` with
    /// the antialiased triangle filter. Components are accumulated in Float and rounded once.
    public func resized(width outWidth: Int, height outHeight: Int, box: CropBox? = nil) -> ByteImage {
        precondition(outWidth > 0 && outHeight > 0, "resize target must be positive, got \(outWidth)×\(outHeight)")
        precondition(width > 0 && height > 0, "cannot resize an empty image")
        let box = box ?? .whole(width: width, height: height)
        if box == .whole(width: width, height: height) && outWidth == width && outHeight == height { return self }
        let columns = ResampleTaps(inputSize: width, outputSize: outWidth, boxStart: box.x, boxLength: box.width)
        let rows = ResampleTaps(inputSize: height, outputSize: outHeight, boxStart: box.y, boxLength: box.height)
        let c = channels
        // Only the source rows that some output row reads go through the horizontal pass.
        let firstRow = rows.starts.min()!
        let lastRow = zip(rows.starts, rows.counts).map { $0 + $1 }.max()!
        let rowLength = outWidth * c
        // Both buffers are written in full by the passes below, so they start uninitialised (no memset).
        var intermediate = [Float](unsafeUninitializedCapacity: (lastRow - firstRow) * rowLength) { $1 = $0.count }
        var output = [UInt8](unsafeUninitializedCapacity: outHeight * rowLength) { $1 = $0.count }

        pixels.withUnsafeBufferPointer { source in
            intermediate.withUnsafeMutableBufferPointer { middle in
                columns.weights.withUnsafeBufferPointer { weights in
                    columns.starts.withUnsafeBufferPointer { starts in
                        columns.counts.withUnsafeBufferPointer { counts in
                            for y in firstRow..<lastRow {
                                let input = source.baseAddress! + y * width * c
                                let row = middle.baseAddress! + (y - firstRow) * rowLength
                                Self.horizontalPass(
                                    input, row, starts.baseAddress!, counts.baseAddress!, weights.baseAddress!,
                                    columns.stride, outWidth, c)
                            }
                        }
                    }
                }
            }
        }
        intermediate.withUnsafeBufferPointer { middle in
            output.withUnsafeMutableBufferPointer { out in
                rows.weights.withUnsafeBufferPointer { weights in
                    var accumulator = [Float](repeating: 0, count: rowLength)
                    accumulator.withUnsafeMutableBufferPointer { acc in
                        for y in 0..<outHeight {
                            for i in 0..<rowLength { acc[i] = 0 }
                            let taps = weights.baseAddress! + y * rows.stride
                            for k in 0..<rows.counts[y] {
                                let w = taps[k]
                                let row = middle.baseAddress! + (rows.starts[y] + k - firstRow) * rowLength
                                for i in 0..<rowLength { acc[i] += w * row[i] }  // vectorises
                            }
                            let target = out.baseAddress! + y * rowLength
                            for i in 0..<rowLength { target[i] = UInt8(min(max(acc[i] + 0.5, 0), 255)) }
                        }
                    }
                }
            }
        }
        return ByteImage(width: outWidth, height: outHeight, channels: c, pixels: output)
    }

    /// One source row (`width × c` bytes) filtered into one intermediate row (`outWidth × c` floats).
    @inline(__always)
    private static func horizontalPass(
        _ input: UnsafePointer<UInt8>, _ row: UnsafeMutablePointer<Float>, _ starts: UnsafePointer<Int>,
        _ counts: UnsafePointer<Int>, _ weights: UnsafePointer<Float>, _ stride: Int, _ outWidth: Int, _ c: Int
    ) {
        if c == 3 {
            for x in 0..<outWidth {
                let w = weights + x * stride
                var p = input + starts[x] * 3
                var r: Float = 0, g: Float = 0, b: Float = 0
                for k in 0..<counts[x] {
                    r += w[k] * Float(p[0])
                    g += w[k] * Float(p[1])
                    b += w[k] * Float(p[2])
                    p += 3
                }
                row[3 * x] = r
                row[3 * x + 1] = g
                row[3 * x + 2] = b
            }
        } else {
            for x in 0..<outWidth {
                let w = weights + x * stride
                let p = input + starts[x]
                var v: Float = 0
                for k in 0..<counts[x] { v += w[k] * Float(p[k]) }
                row[x] = v
            }
        }
    }
}
