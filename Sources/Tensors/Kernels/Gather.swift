/// Copying whole samples between N×… buffers: the batch gathering of in-memory datasets.
import Foundation

public enum SampleCopy {
    /// The samples at `indices` of `source` (consecutive samples of `sampleSize` values each), stacked in order.
    public static func gather(_ indices: [Int], from source: [Float], sampleSize: Int) -> [Float] {
        var out = [Float](repeating: 0, count: indices.count * sampleSize)
        out.withUnsafeMutableBufferPointer { destination in
            source.withUnsafeBufferPointer { source in
                for (n, index) in indices.enumerated() {
                    precondition(index >= 0 && (index + 1) * sampleSize <= source.count, "sample \(index) out of range")
                    (destination.baseAddress! + n * sampleSize).update(from: source.baseAddress! + index * sampleSize,
                                                                       count: sampleSize)
                }
            }
        }
        return out
    }
}
