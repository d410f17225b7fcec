/// What a network expects as input: channels, size, resize policy, crop and per-channel normalisation. One type for
/// the engine (model manifests), image data (preprocessing) and the service: it lives in the lowest target they
/// all import.
import Foundation

/// How an image of another aspect ratio is brought to the input size.
public enum ResizePolicy: String, Codable, Sendable, CaseIterable {
    /// Scale so the shorter side fits, then cut the centre (keeps the aspect ratio; torchvision's default).
    case shorterSideThenCenterCrop = "shorter_side_then_center_crop"
    /// Scale each axis independently to the input size (distorts the aspect ratio, keeps everything).
    case stretch
    /// Images are expected at the input size already (IDX data); any other size is stretched.
    case none

    /// The policy for a name, accepting the canonical raw values and the aliases model manifests use
    /// (`resize` for stretch, `resize_shorter_center_crop` for the centre crop); nil for anything else.
    public init?(name: String) {
        switch name {
        case "shorter_side_then_center_crop", "resize_shorter_center_crop", "shorterSideThenCenterCrop":
            self = .shorterSideThenCenterCrop
        case "stretch", "resize": self = .stretch
        case "none": self = .none
        default: return nil
        }
    }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let policy = ResizePolicy(name: name) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "unknown resize policy '\(name)'; use shorter_side_then_center_crop, stretch or none"))
        }
        self = policy
    }
}

/// A model's input contract. JSON keys: `channels`, `height`, `width`, `resize`, `mean`, `std`, and optionally
/// `crop_fraction` and `fast_jpeg`.
public struct InputSpec: Codable, Sendable, Hashable {
    /// 1 (grey) or 3 (RGB).
    public var channels: Int
    public var height: Int
    public var width: Int
    public var resize: ResizePolicy
    /// Per-channel mean of components scaled to 0…1; `mean.count == channels`.
    public var mean: [Float]
    /// Per-channel standard deviation of components scaled to 0…1; `std.count == channels`.
    public var std: [Float]
    /// The centred part of the resize policy's region that is kept, in (0, 1]: 0.875 is the usual ImageNet
    /// evaluation crop (shorter side to 256, centre 224). 1 keeps the whole region.
    public var cropFraction: Double
    /// Decode JPEGs scaled down in the DCT domain (n/8, keeping twice the pixels the input needs, with libjpeg's
    /// fast IDCT and upsampling: Pillow's `draft` mode) instead of at full size. Several times faster on camera
    /// photos, but the pixels are no longer those of the reference pipeline (Pillow's full decode), so
    /// predictions can differ from a PyTorch user's on near-ties. Off by default (JSON `fast_jpeg`).
    public var fastJPEG: Bool

    public init(
        channels: Int, height: Int, width: Int, resize: ResizePolicy = .shorterSideThenCenterCrop,
        mean: [Float], std: [Float], cropFraction: Double = 1, fastJPEG: Bool = false
    ) {
        self.channels = channels
        self.height = height
        self.width = width
        self.resize = resize
        self.mean = mean
        self.std = std
        self.cropFraction = cropFraction
        self.fastJPEG = fastJPEG
    }

    enum CodingKeys: String, CodingKey {
        case channels, height, width, resize, mean, std, cropFraction = "crop_fraction", fastJPEG = "fast_jpeg"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(channels: try c.decode(Int.self, forKey: .channels), height: try c.decode(Int.self, forKey: .height),
                  width: try c.decode(Int.self, forKey: .width), resize: try c.decode(ResizePolicy.self, forKey: .resize),
                  mean: try c.decode([Float].self, forKey: .mean), std: try c.decode([Float].self, forKey: .std),
                  cropFraction: try c.decodeIfPresent(Double.self, forKey: .cropFraction) ?? 1,
                  fastJPEG: try c.decodeIfPresent(Bool.self, forKey: .fastJPEG) ?? false)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(channels, forKey: .channels)
        try c.encode(height, forKey: .height)
        try c.encode(width, forKey: .width)
        try c.encode(resize, forKey: .resize)
        try c.encode(mean, forKey: .mean)
        try c.encode(std, forKey: .std)
        if cropFraction != 1 { try c.encode(cropFraction, forKey: .cropFraction) }
        if fastJPEG { try c.encode(fastJPEG, forKey: .fastJPEG) }
    }

    /// ImageNet statistics at 224×224 RGB, the usual contract of pretrained CNNs.
    public static let imageNet224 = InputSpec(
        channels: 3, height: 224, width: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// Problems that make the spec unusable, empty when it is valid.
    public var problems: [String] {
        var found: [String] = []
        if channels != 1 && channels != 3 { found.append("channels must be 1 or 3, got \(channels)") }
        if height < 1 || width < 1 { found.append("height and width must be positive, got \(height)×\(width)") }
        if height > 4096 || width > 4096 { found.append("height and width must be at most 4096, got \(height)×\(width)") }
        if mean.count != channels { found.append("mean needs \(channels) values, got \(mean.count)") }
        if std.count != channels { found.append("std needs \(channels) values, got \(std.count)") }
        if std.contains(where: { !($0 > 0) || !$0.isFinite }) { found.append("std values must be positive") }
        if mean.contains(where: { !$0.isFinite }) { found.append("mean values must be finite") }
        if !(cropFraction > 0 && cropFraction <= 1) { found.append("crop_fraction must be in (0, 1], got \(cropFraction)") }
        return found
    }
}
