/// VGG-11, VGG-16 and VGG-16 with batch norm, as torchvision builds them.
extension Architectures {
    /// The VGG layer tables (Simonyan & Zisserman, "Very deep convolutional networks for large-scale image
    /// recognition", ICLR 2015, Table 1): numbers are 3×3 pad-1 convolutions' widths, 0 a 2×2/2 max pool.
    /// Configuration A is VGG-11, D is VGG-16.
    static let vggTables: [String: [Int]] = [
        "vgg11": [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        "vgg16": [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
    ]

    /// torchvision's VGG (`torchvision.models.vgg11`, `vgg16`, `vgg16_bn`): `features` numbered as torchvision's
    /// Sequential numbers them (conv, [BatchNorm,] ReLU, …, pool), AdaptiveAvgPool2d(7) (identity at 224), then
    /// `classifier`: FC 25088→4096, ReLU, dropout, FC 4096→4096, ReLU, dropout, FC 4096→classes (`classifier_6`).
    /// Only 3×3 convolutions and 2×2 poolings, so any multiple of 32 is an exact input size.
    public static func vgg(_ table: [Int], batchNorm: Bool, size: Int = 224, classes: Int = 1000) throws -> [NodeSpec] {
        var b = ArchitectureBuilder(channels: 3, height: size, width: size)
        var x = "input", index = 0
        func next() -> String { defer { index += 1 }; return "features_\(index)" }
        for width in table {
            if width == 0 {
                x = try b.pool(next(), x, kernel: 2, stride: 2)
                continue
            }
            x = try b.conv(next(), x, width, kernel: 3, padding: 1)
            if batchNorm { x = b.batchNorm(next(), x) }
            x = b.relu(next(), x)
        }
        x = b.flatten("flatten", try b.adaptiveAvgPool("avgpool", x, side: 7))
        x = b.relu("classifier_1", b.linear("classifier_0", x, 4096))
        x = b.dropout("classifier_2", x, p: 0.5)
        x = b.relu("classifier_4", b.linear("classifier_3", x, 4096))
        x = b.dropout("classifier_5", x, p: 0.5)
        b.linear("classifier_6", x, classes)
        return b.nodes
    }

    static func vggArchitecture(_ name: String) -> Architecture {
        let batchNorm = name.hasSuffix("-bn")
        let base = batchNorm ? String(name.dropLast(3)) : name
        let table = vggTables[base]!
        let convs = table.filter { $0 > 0 }.count
        return Architecture(
            name: name, summary: "VGG-\(convs + 3)\(batchNorm ? " with batch norm" : "") (Simonyan & Zisserman 2015), 224×224",
            input: imageNetInput(), head: "classifier_6",
            stateDictSource: "torchvision.models.\(base)\(batchNorm ? "_bn" : "") (features.0.weight, …)",
            builder: { try vgg(table, batchNorm: batchNorm, size: $0, classes: $1) }, renamer: torchvisionRenamer())
    }
}
