/// The image side of a model's input spec (`Tensors.InputSpec`): its validation as image data reports it, and the
/// decode options that fetch no more pixels than the input needs.
import Foundation
import Tensors

extension InputSpec {
    /// Throws ``ImageDataError/invalidDataset(reason:)`` naming every problem.
    public func validate() throws {
        let found = problems
        if !found.isEmpty { throw ImageDataError.invalidDataset(reason: "input spec: " + found.joined(separator: "; ")) }
    }

    /// Decode options that ask for this spec's channels and let JPEGs be downscaled in the DCT domain while the
    /// decoded image keeps `reducingGap` times the pixels the input needs along each side. DCT scaling is coarse
    /// (on scikit-learn's china.jpg, decoding at 5/8 for a 224 crop left a mean error of 2.7 levels against a full
    /// decode, 0.13 at full size); the antialiased resize after it does the fine part. 2 is what Pillow's
    /// `thumbnail` uses.
    public func decodeOptions(maximumPixelCount: Int = DecodeOptions.defaultMaximumPixelCount,
                              reducingGap: Double = 2) -> DecodeOptions {
        // a centre crop keeps only cropFraction of each side: the kept part must still cover the input size
        DecodeOptions(channels: channels, maximumPixelCount: maximumPixelCount,
                      minimumSize: (Int((Double(width) * reducingGap / cropFraction).rounded(.up)),
                                    Int((Double(height) * reducingGap / cropFraction).rounded(.up))))
    }
}
