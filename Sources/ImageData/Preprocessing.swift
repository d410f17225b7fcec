/// Deterministic preprocessing: channel conversion, resize per the input spec's policy, and normalisation to
/// Float CHW and N×C×H×W batches.
/// `normalize(_:into:)` takes an unsafe buffer so batches fill in place without a copy per image; safe callers use
/// the `inout [Float]` form.
import Foundation
import Tensors

extension InputSpec {
    /// The region of a `width` × `height` image that this spec's resize policy maps onto the input: the whole
    /// image for `.stretch`, the centred rectangle of the input's aspect ratio for `.shorterSideThenCenterCrop`;
    /// then the centred `cropFraction` of that (not for `.none`, whose images are already the input).
    public func cropBox(forImageWidth width: Int, height: Int) -> CropBox {
        var cropWidth = Double(width), cropHeight = Double(height)
        switch resize {
        case .none:
            return .whole(width: width, height: height)
        case .stretch:
            break
        case .shorterSideThenCenterCrop:
            // Scale s makes the shorter side fit: s = max(W / w, H / h); the crop is W / s × H / s.
            let scale = max(Double(self.width) / Double(width), Double(self.height) / Double(height))
            cropWidth = min(Double(self.width) / scale, Double(width))
            cropHeight = min(Double(self.height) / scale, Double(height))
        }
        if cropFraction == 1 && cropWidth == Double(width) && cropHeight == Double(height) {
            return .whole(width: width, height: height)
        }
        cropWidth *= cropFraction
        cropHeight *= cropFraction
        return CropBox(x: (Double(width) - cropWidth) / 2, y: (Double(height) - cropHeight) / 2,
                       width: cropWidth, height: cropHeight)
    }

    /// The image converted to this spec's channels and resized to height × width (8-bit, HWC). Resizing and
    /// centre cropping happen in one pass: the crop box is resampled straight to the output.
    public func prepare(_ image: ByteImage) -> ByteImage {
        let converted = image.converted(toChannels: channels)
        return converted.resized(width: width, height: height, box: cropBox(forImageWidth: image.width, height: image.height))
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
