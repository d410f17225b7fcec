/// GoogLeNet (Inception v1) as torchvision builds it, the inference graph.
extension Architectures {
    /// The inception modules: input → (1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5", pool projection) widths
    /// (Szegedy et al., "Going deeper with convolutions", CVPR 2015, Table 1); 0 marks a 3×3/2 max pool between
    /// stages (the one before inception5a is 2×2/2, as in torchvision).
    static let inceptionTable: [(name: String, widths: [Int])] = [
        ("inception3a", [64, 96, 128, 16, 32, 32]), ("inception3b", [128, 128, 192, 32, 96, 64]), ("maxpool3", []),
        ("inception4a", [192, 96, 208, 16, 48, 64]), ("inception4b", [160, 112, 224, 24, 64, 64]),
        ("inception4c", [128, 128, 256, 24, 64, 64]), ("inception4d", [112, 144, 288, 32, 64, 64]),
        ("inception4e", [256, 160, 320, 32, 128, 128]), ("maxpool4", []),
        ("inception5a", [256, 160, 320, 32, 128, 128]), ("inception5b", [384, 192, 384, 48, 128, 128]),
    ]

    /// torchvision's GoogLeNet (`torchvision.models.googlenet`, `transform_input` off) for inference:
    ///
    ///     conv1     conv 7×7/2 pad 3, 64      64×112×112   maxpool1 3×3/2 (ceil) → 56×56
    ///     conv2     conv 1×1, 64; conv3  conv 3×3 pad 1, 192   maxpool2 → 192×28×28
    ///     inception3a, 3b                     480×28×28    maxpool3 → 14×14
    ///     inception4a … 4e                    832×14×14    maxpool4 2×2/2 (ceil) → 7×7
    ///     inception5a, 5b                     1024×7×7     global average pool, dropout 0.2, fc
    ///
    /// Every convolution is torchvision's BasicConv2d: conv (no bias) + BatchNorm (eps 1e-3) + ReLU, nodes
    /// `…_conv`, `…_bn`, `…_relu`. An inception module concatenates four branches: 1×1 (`branch1`); 1×1 reduce
    /// then 3×3 (`branch2`); 1×1 reduce then the "5×5" branch, which torchvision builds with a 3×3 kernel
    /// (`branch3`, kept so its weights load); 3×3/1 max pool then 1×1 projection (`branch4`).
    /// The two auxiliary classifiers (`aux1`, `aux2`, training-time only) are left out: this is the inference
    /// graph, and `graft import pytorch` sets their tensors aside with a note.
    public static func googlenet(size: Int = 224, classes: Int = 1000) throws -> [NodeSpec] {
        var b = ArchitectureBuilder(channels: 3, height: size, width: size, rounding: .floor)
        func basic(_ p: String, _ input: String, _ out: Int, kernel: Int, stride: Int = 1, padding: Int = 0) throws -> String {
            let conv = try b.conv(p + "_conv", input, out, kernel: kernel, stride: stride, padding: padding, bias: false)
            return b.relu(p + "_relu", b.batchNorm(p + "_bn", conv, eps: 1e-3))
        }
        var x = try basic("conv1", "input", 64, kernel: 7, stride: 2, padding: 3)
        x = try b.pool("maxpool1", x, kernel: 3, stride: 2, rounding: .ceil)
        x = try basic("conv2", x, 64, kernel: 1)
        x = try basic("conv3", x, 192, kernel: 3, padding: 1)
        x = try b.pool("maxpool2", x, kernel: 3, stride: 2, rounding: .ceil)
        for (name, w) in inceptionTable {
            if w.isEmpty {
                let kernel = name == "maxpool4" ? 2 : 3
                x = try b.pool(name, x, kernel: kernel, stride: 2, rounding: .ceil)
                continue
            }
            let branch1 = try basic(name + "_branch1", x, w[0], kernel: 1)
            let branch2 = try basic(name + "_branch2_1", try basic(name + "_branch2_0", x, w[1], kernel: 1), w[2],
                                    kernel: 3, padding: 1)
            let branch3 = try basic(name + "_branch3_1", try basic(name + "_branch3_0", x, w[3], kernel: 1), w[4],
                                    kernel: 3, padding: 1)
            let pooled = try b.pool(name + "_branch4_0", x, kernel: 3, stride: 1, padding: 1, rounding: .ceil)
            let branch4 = try basic(name + "_branch4_1", pooled, w[5], kernel: 1)
            x = try b.concat(name + "_concat", [branch1, branch2, branch3, branch4])
        }
        x = b.dropout("dropout", b.flatten("flatten", b.globalAvgPool("avgpool", x)), p: 0.2)
        b.linear("fc", x, classes)
        return b.nodes
    }

    static let googlenetArchitecture = Architecture(
        name: "googlenet", summary: "GoogLeNet / Inception v1 (Szegedy et al. 2015, torchvision's), inference graph, 224×224",
        input: imageNetInput(), head: "fc",
        stateDictSource: "torchvision.models.googlenet (inception3a.branch1.conv.weight, …; aux1/aux2 set aside)",
        builder: { try googlenet(size: $0, classes: $1) }, renamer: torchvisionRenamer(skipping: ["aux1", "aux2"]))
}
