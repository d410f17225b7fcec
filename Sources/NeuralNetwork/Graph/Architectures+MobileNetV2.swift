/// MobileNetV2 as torchvision builds it (inverted residuals, depthwise convolutions, ReLU6).
extension Architectures {
    /// torchvision's MobileNetV2 (`torchvision.models.mobilenet_v2`, width 1.0; Sandler, Howard, Zhu, Zhmoginov,
    /// Chen, "MobileNetV2: inverted residuals and linear bottlenecks", CVPR 2018, Table 2):
    ///
    ///     t  c     n  s      (expansion, output channels, repeats, first stride)
    ///     features_0: conv 3×3/2, 32 + BN + ReLU6          32×112×112
    ///     1  16    1  1
    ///     6  24    2  2
    ///     6  32    3  2
    ///     6  64    4  2
    ///     6  96    3  1
    ///     6  160   3  2
    ///     6  320   1  1                                    320×7×7
    ///     features_18: conv 1×1, 1280 + BN + ReLU6; global average pool; classifier_0 dropout 0.2; classifier_1 FC
    ///
    /// Block `features_i`: `conv_0` expand 1×1 + BN + ReLU6 (absent when t = 1), depthwise 3×3 + BN + ReLU6, a
    /// linear 1×1 projection + BN, and the input added when the stride is 1 and the channels match. Node names
    /// follow torchvision's (`features_2_conv_1_0` ↔ `features.2.conv.1.0`).
    public static func mobilenetV2(size: Int = 224, classes: Int = 1000) throws -> [NodeSpec] {
        var b = ArchitectureBuilder(channels: 3, height: size, width: size, rounding: .floor)
        func convBNReLU6(_ p: String, _ input: String, _ out: Int, kernel: Int, stride: Int = 1, groups: Int = 1) throws -> String {
            let conv = try b.conv(p + "_0", input, out, kernel: kernel, stride: stride, padding: (kernel - 1) / 2,
                                  groups: groups, bias: false)
            return b.activation(p + "_2", "ReLU6", b.batchNorm(p + "_1", conv))
        }
        var x = try convBNReLU6("features_0", "input", 32, kernel: 3, stride: 2)
        var index = 1
        for (t, c, n, s) in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                             (6, 320, 1, 1)] {
            for repeatIndex in 0..<n {
                let stride = repeatIndex == 0 ? s : 1
                let p = "features_\(index)_conv_"
                let input = x, inputChannels = b.channels(x), hidden = inputChannels * t
                var y = x, part = 0
                if t != 1 {
                    y = try convBNReLU6(p + "0", y, hidden, kernel: 1)
                    part = 1
                }
                y = try convBNReLU6(p + "\(part)", y, hidden, kernel: 3, stride: stride, groups: hidden)
                y = try b.conv(p + "\(part + 1)", y, c, kernel: 1, bias: false)
                y = b.batchNorm(p + "\(part + 2)", y)
                x = stride == 1 && inputChannels == c ? b.add("features_\(index)_add", y, input) : y
                index += 1
            }
        }
        x = try convBNReLU6("features_\(index)", x, 1280, kernel: 1)
        x = b.flatten("flatten", b.globalAvgPool("avgpool", x))
        b.linear("classifier_1", b.dropout("classifier_0", x, p: 0.2), classes)
        return b.nodes
    }

    static let mobilenetV2Architecture = Architecture(
        name: "mobilenet-v2", summary: "MobileNetV2 (Sandler et al. 2018, torchvision's, width 1.0), 224×224",
        input: imageNetInput(), head: "classifier_1", stateDictSource: "torchvision.models.mobilenet_v2 (features.1.conv.0.0.weight, …)",
        builder: { try mobilenetV2(size: $0, classes: $1) }, renamer: torchvisionRenamer())
}
