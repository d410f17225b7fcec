/// Deterministic preprocessing, torchvision's evaluation transform to the level: channel conversion, resize and
/// centre crop per the input spec's policy, and normalisation to Float CHW and N×C×H×W batches.
/// `normalize(_:into:)` takes an unsafe buffer so batches fill in place without a copy per image; safe callers use
/// the `inout [Float]` form.
import Foundation
import Tensors

/// How the reference pipeline brings an image of some size to the input: resize the whole image to
/// `resizedWidth` × `resizedHeight`, then keep the integer rectangle at (`cropX`, `cropY`) of the input's size.
public struct ResizePlan: Equatable, Sendable {
    public var resizedWidth: Int
    public var resizedHeight: Int
    public var cropX: Int
    public var cropY: Int
}

extension InputSpec {
    /// torchvision's evaluation transform for this spec, `Resize(floor(size / crop_fraction))` then
    /// `CenterCrop(size)`, as timm builds it from a crop fraction:
    /// - `.shorterSideThenCenterCrop`: the side that binds goes to `floor(side / crop_fraction)` and the other to
    ///   `int(that · other / binding)` (torchvision's `Resize(int)`: for a square input, the shorter side);
    /// - `.stretch`: both sides to `floor(side / crop_fraction)` (`Resize((h, w))`);
    /// - `.none`: the image as it is when it has the input size, stretched to it otherwise;
    /// then the centre crop at `int(round((resized − size) / 2))`, Python's round half to even.
    public func resizePlan(forImageWidth imageWidth: Int, height imageHeight: Int) -> ResizePlan {
        precondition(imageWidth > 0 && imageHeight > 0, "empty image")
        let fraction = resize == .none ? 1 : cropFraction
        let targetWidth = Int((Double(width) / fraction).rounded(.down))
        let targetHeight = Int((Double(height) / fraction).rounded(.down))
        var resizedWidth = targetWidth, resizedHeight = targetHeight
        switch resize {
        case .none, .stretch:
            break
        case .shorterSideThenCenterCrop:
            // The width binds when targetWidth / imageWidth ≥ targetHeight / imageHeight. Integer division equals
            // Python's int(a / b) here: a float quotient of integers below 2⁵³ never rounds across an integer.
            if targetWidth * imageHeight >= targetHeight * imageWidth {
                resizedHeight = targetWidth * imageHeight / imageWidth
            } else {
                resizedWidth = targetHeight * imageWidth / imageHeight
            }
        }
        func offset(_ resized: Int, _ size: Int) -> Int { Int((Double(resized - size) / 2).rounded(.toNearestOrEven)) }
        return ResizePlan(resizedWidth: resizedWidth, resizedHeight: resizedHeight,
                          cropX: offset(resizedWidth, width), cropY: offset(resizedHeight, height))
    }

    /// The part of a `width` × `height` image that ``prepare(_:)`` keeps, in source coordinates (fractional):
    /// the centre crop of ``resizePlan(forImageWidth:height:)`` mapped back through its resize.
    public func cropBox(forImageWidth imageWidth: Int, height imageHeight: Int) -> CropBox {
        let plan = resizePlan(forImageWidth: imageWidth, height: imageHeight)
        let scaleX = Double(imageWidth) / Double(plan.resizedWidth)
        let scaleY = Double(imageHeight) / Double(plan.resizedHeight)
        return CropBox(x: Double(plan.cropX) * scaleX, y: Double(plan.cropY) * scaleY,
                       width: Double(width) * scaleX, height: Double(height) * scaleY)
    }

    /// The image converted to this spec's channels (Pillow's `convert`), resized and centre-cropped per
    /// ``resizePlan(forImageWidth:height:)`` with Pillow's BILINEAR resampling: torchvision's evaluation transform
    /// to the level. Only the kept rectangle of the resize is computed.
    public func prepare(_ image: ByteImage) -> ByteImage {
        let converted = image.converted(toChannels: channels)
        let plan = resizePlan(forImageWidth: image.width, height: image.height)
        return converted.resized(
            width: plan.resizedWidth, height: plan.resizedHeight,
            keeping: plan.cropX..<(plan.cropX + width), rows: plan.cropY..<(plan.cropY + height))
    }

    /// Writes `image` (already height × width × channels) normalised into `destination` as C×H×W:
    /// `(pixel / 255 − mean[c]) / std[c]`.
    public func normalize(_ image: ByteImage, into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(image.width == width && image.height == height && image.channels == channels,
            "image is \(image.width)×\(image.height)×\(image.channels), spec wants \(width)×\(height)×\(channels)")
        precondition(destination.count >= channels * height * width, "destination too small")
        let plane = height * width
        image.pixels.withUnsafeBufferPointer { source in
            for c in 0..<channels {
                let scale = 1 / (255 * std[c])
                let bias = -mean[c] / std[c]
                let out = destination.baseAddress! + c * plane
                for i in 0..<plane { out[i] = Float(source[i * channels + c]) * scale + bias }
            }
        }
    }

    /// Writes `image` normalised as C×H×W into `scalars` from `offset` on (a sample of an N×C×H×W buffer).
    public func normalize(_ image: ByteImage, into scalars: inout [Float], at offset: Int) {
        precondition(offset >= 0 && offset + channels * height * width <= scalars.count, "sample out of range")
        scalars.withUnsafeMutableBufferPointer { all in
            normalize(image, into: UnsafeMutableBufferPointer(rebasing: all[offset..<(offset + channels * height * width)]))
        }
    }

    /// One image normalised as a 1×C×H×W tensor (after ``prepare(_:)`` when its size differs).
    public func tensor(_ image: ByteImage) -> Tensor {
        let ready = (image.width == width && image.height == height && image.channels == channels) ? image : prepare(image)
        var tensor = Tensor(shape: [1, channels, height, width])
        tensor.scalars.withUnsafeMutableBufferPointer { normalize(ready, into: $0) }
        return tensor
    }

    /// Prepared images stacked and normalised into an N×C×H×W tensor.
    public func batch(_ images: [ByteImage]) -> Tensor {
        let sampleSize = channels * height * width
        var tensor = Tensor(shape: [images.count, channels, height, width])
        tensor.scalars.withUnsafeMutableBufferPointer { all in
            for (n, image) in images.enumerated() {
                let ready = (image.width == width && image.height == height && image.channels == channels)
                    ? image : prepare(image)
                normalize(ready, into: UnsafeMutableBufferPointer(rebasing: all[(n * sampleSize)..<((n + 1) * sampleSize)]))
            }
        }
        return tensor
    }
}
