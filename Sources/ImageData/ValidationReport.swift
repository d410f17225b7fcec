/// What a dataset source contains and what is wrong with it: returned by the service as JSON (snake_case).
import Foundation

/// Classes and counts, skipped files with reasons, warnings, and the errors that stop a job.
public struct ValidationReport: Codable, Sendable, Equatable {
    /// One class as found.
    public struct ClassSummary: Codable, Sendable, Equatable {
        public var name: String
        /// Images used for training (all images when there is no explicit split).
        public var count: Int
        /// Images in the explicit `val/` folder, when the source has one.
        public var validationCount: Int?

        enum CodingKeys: String, CodingKey {
            case name, count
            case validationCount = "validation_count"
        }
    }

    /// A file that was not used, and why.
    public struct SkippedFile: Codable, Sendable, Equatable {
        public var path: String
        public var reason: String
    }

    /// A warning or an error: a stable code for programs and a sentence for people.
    public struct Finding: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
        /// The class concerned, if any.
        public var className: String?

        enum CodingKeys: String, CodingKey {
            case code, message
            case className = "class_name"
        }
    }

    public var classes: [ClassSummary] = []
    /// Usable images in total (training plus explicit validation).
    public var imageCount: Int = 0
    public var skipped: [SkippedFile] = []
    public var warnings: [Finding] = []
    public var errors: [Finding] = []

    /// True when no error stops a job.
    public var isUsable: Bool { errors.isEmpty }

    public init() {}

    enum CodingKeys: String, CodingKey {
        case classes, skipped, warnings, errors
        case imageCount = "image_count"
        case isUsable = "usable"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        classes = try container.decode([ClassSummary].self, forKey: .classes)
        imageCount = try container.decode(Int.self, forKey: .imageCount)
        skipped = try container.decode([SkippedFile].self, forKey: .skipped)
        warnings = try container.decode([Finding].self, forKey: .warnings)
        errors = try container.decode([Finding].self, forKey: .errors)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(classes, forKey: .classes)
        try container.encode(imageCount, forKey: .imageCount)
        try container.encode(skipped, forKey: .skipped)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(errors, forKey: .errors)
        try container.encode(isUsable, forKey: .isUsable)
    }
}

/// Thresholds for the report's warnings and errors.
public struct ValidationRules: Sendable, Equatable {
    /// Fewer images than this in a class is a warning.
    public var minimumImagesPerClass = 5
    /// A largest/smallest class ratio above this is a warning.
    public var maximumImbalance = 10.0
    /// Images whose shorter side is below this many pixels are reported as tiny.
    public var minimumImageSide = 24

    public init() {}
}

extension ValidationReport {
    /// Adds counts, warnings and errors for `classNames` with `counts` (training) and optional validation
    /// counts. `tinyImages` lists the names of images below the size threshold.
    mutating func summarise(
        classNames: [String], counts: [Int], validationCounts: [Int]?, tinyImages: [String], rules: ValidationRules
    ) {
        classes = classNames.indices.map {
            ClassSummary(name: classNames[$0], count: counts[$0], validationCount: validationCounts?[$0])
        }
        imageCount = counts.reduce(0, +) + (validationCounts?.reduce(0, +) ?? 0)
        if classNames.count < 2 {
            errors.append(Finding(
                code: "too_few_classes",
                message: "found \(classNames.count) class(es); a classifier needs at least 2 — put each class's "
                    + "images in its own folder", className: nil))
        }
        for (index, name) in classNames.enumerated() {
            let total = counts[index] + (validationCounts?[index] ?? 0)
            if total == 0 {
                errors.append(Finding(
                    code: "empty_class", message: "class '\(name)' has no usable images", className: name))
            } else if total < rules.minimumImagesPerClass {
                warnings.append(Finding(
                    code: "few_images",
                    message: "class '\(name)' has only \(total) image(s); at least \(rules.minimumImagesPerClass) "
                        + "are recommended", className: name))
            }
            if let validationCounts, validationCounts[index] == 0, counts[index] > 0 {
                warnings.append(Finding(
                    code: "no_validation_images", message: "class '\(name)' has no images in val/", className: name))
            }
        }
        let totals = classNames.indices.map { counts[$0] + (validationCounts?[$0] ?? 0) }
        if let largest = totals.max(), let smallest = totals.filter({ $0 > 0 }).min(),
            Double(largest) > rules.maximumImbalance * Double(smallest)
        {
            let big = classNames[totals.firstIndex(of: largest)!], small = classNames[totals.firstIndex(of: smallest)!]
            warnings.append(Finding(
                code: "class_imbalance",
                message: "classes are imbalanced: '\(big)' has \(largest) images, '\(small)' only \(smallest) "
                    + "(more than \(Int(rules.maximumImbalance)):1)", className: nil))
        }
        if !tinyImages.isEmpty {
            let examples = tinyImages.prefix(5).joined(separator: ", ")
            warnings.append(Finding(
                code: "tiny_images",
                message: "\(tinyImages.count) image(s) have a side shorter than \(rules.minimumImageSide) px "
                    + "and will be upscaled (e.g. \(examples))", className: nil))
        }
    }
}
