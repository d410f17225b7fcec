/// The pad-and-crop / flip augmentation of the pretraining recipe, on normalised tensors.
import Foundation
import Tensors

/// The CIFAR-style augmentation of the pretraining recipe, on normalised tensors: pad each side by `padding`
/// with the value of a black pixel, cut a random H×W window, mirror left-right with probability ½.
public struct PadCropFlip: Sendable {
    public var padding: Int
    /// Per-channel value of a black pixel after normalisation (−mean/std).
    public var fill: [Float]

    public init(padding: Int, fill: [Float]) {
        self.padding = padding
        self.fill = fill
    }

    /// batch: N×C×H×W, augmented in place; offsets and flips come from `generator`.
    public func apply(to batch: inout Tensor, using generator: inout SeededGenerator) {
        let (n, c, h, w) = (batch.shape[0], batch.shape[1], batch.shape[2], batch.shape[3])
        var plane = [Float](repeating: 0, count: h * w)
        for sample in 0..<n {
            let dy = Int(generator.next() % UInt64(2 * padding + 1)) - padding
            let dx = Int(generator.next() % UInt64(2 * padding + 1)) - padding
            let flip = generator.next() & 1 == 1
            for channel in 0..<c {
                let base = (sample * c + channel) * h * w
                for y in 0..<h {
                    for x in 0..<w {
                        // output (y, x) reads the padded source at (y + dy, x + dx), x mirrored first when flipping
                        let sx = (flip ? w - 1 - x : x) + dx, sy = y + dy
                        plane[y * w + x] = (sy >= 0 && sy < h && sx >= 0 && sx < w)
                            ? batch.scalars[base + sy * w + sx] : fill[channel]
                    }
                }
                batch.scalars.replaceSubrange(base..<(base + h * w), with: plane)
            }
        }
    }
}
