/// The image side of a model's input spec (`Tensors.InputSpec`): its validation as image data reports it, and the
/// decode options of its path: the reference (full) decode, or DCT-scaled JPEGs with `fast_jpeg`.
import Foundation
import Tensors

extension InputSpec {
    /// Throws ``ImageDataError/invalidDataset(reason:)`` naming every problem.
    public func validate() throws {
        let found = problems
        if !found.isEmpty { throw ImageDataError.invalidDataset(reason: "input spec: " + found.joined(separator: "; ")) }
    }

    /// Decode options for this spec. By default, the reference decode: full size, libjpeg's accurate integer IDCT
    /// and fancy upsampling (TurboJPEG's defaults, which are Pillow's), the file's own channels (grey stays grey,
    /// the rest RGB; ``prepare(_:)`` converts as Pillow's `convert` does). With ``fastJPEG``, JPEGs are downscaled
    /// in the DCT domain while the decoded image keeps `reducingGap` times the pixels the input needs along each side
    /// (2 is what Pillow's `thumbnail` uses) — coarse: on scikit-learn's china.jpg, decoding at 5/8 for a 224 crop
    /// left a mean error of 2.7 levels against a full decode; the resize after it does the fine part.
    ///
    /// Prediction paths pass `maximumDecodedPixelCount: decodedPixelBudget()`, so that an image far larger than
    /// the model can use, and which is not scaled down while decoding (PNG, progressive JPEG, any JPEG on the
    /// reference path), is refused from its header instead of costing hundreds of megabytes. Training leaves it
    /// `nil`: its images were validated against the pixel cap when the dataset was registered, and refusing them
    /// mid-run would fail the job.
    public func decodeOptions(maximumPixelCount: Int = DecodeOptions.defaultMaximumPixelCount,
                              reducingGap: Double = 2, maximumDecodedPixelCount: Int? = nil) -> DecodeOptions {
        DecodeOptions(maximumPixelCount: maximumPixelCount,
                      minimumSize: fastJPEG ? minimumDecodeSize(reducingGap: reducingGap) : nil,
                      maximumDecodedPixelCount: maximumDecodedPixelCount.map { min($0, maximumPixelCount) })
    }

    /// A prediction's decode budget: 16 times the pixels the input needs (after the reducing gap), and at least
    /// 50 megapixels, so that the photos of phones and cameras (12–48 MP) decode at full size on the reference
    /// path, while a 10 950 × 10 950 PNG (120 MP, 360 MB of RGB) does not. What many such decodes take at once is
    /// bounded by the service's decode budget, not here.
    public func decodedPixelBudget(reducingGap: Double = 2) -> Int {
        let minimum = minimumDecodeSize(reducingGap: reducingGap)
        return max(50_000_000, 16 * minimum.width * minimum.height)
    }

    /// A centre crop keeps only cropFraction of each side: the kept part must still cover the input size.
    private func minimumDecodeSize(reducingGap: Double) -> (width: Int, height: Int) {
        (Int((Double(width) * reducingGap / cropFraction).rounded(.up)),
         Int((Double(height) * reducingGap / cropFraction).rounded(.up)))
    }
}
