/// ResNet-18, -34 and -50 as torchvision builds them (basic and bottleneck blocks, projection shortcuts).
extension Architectures {
    /// Blocks per stage and whether they are bottlenecks (He, Zhang, Ren, Sun, "Deep residual learning for image
    /// recognition", CVPR 2016, Table 1).
    static let resnetTables: [String: (blocks: [Int], bottleneck: Bool)] = [
        "resnet18": ([2, 2, 2, 2], false), "resnet34": ([3, 4, 6, 3], false), "resnet50": ([3, 4, 6, 3], true),
    ]

    /// torchvision's ResNet (`torchvision.models.resnet18/34/50`, v1.5: a bottleneck's stride is on its 3×3):
    ///
    ///     conv1    conv 7×7/2 pad 3, 64 + bn1 + ReLU    64×112×112
    ///     maxpool  3×3/2 pad 1                          64×56×56
    ///     layer1   blocks of width 64, stride 1         64×56×56   (×4 channels for bottlenecks)
    ///     layer2   width 128, first block stride 2      128×28×28
    ///     layer3   width 256, stride 2                  256×14×14
    ///     layer4   width 512, stride 2                  512×7×7
    ///     avgpool  global average; fc  FC →classes
    ///
    /// A basic block is conv 3×3 + BN + ReLU, conv 3×3 + BN; a bottleneck 1×1 reduce, 3×3, 1×1 expand (×4), each
    /// with BN. The shortcut is the identity, or `downsample` (1×1 conv with the block's stride + BN) where the
    /// stride or width changes; ReLU after the sum. Sizes round down as PyTorch's do (224 → 112.5 → 112).
    public static func resnet(blocks: [Int], bottleneck: Bool, size: Int = 224, classes: Int = 1000) throws -> [NodeSpec] {
        var b = ArchitectureBuilder(channels: 3, height: size, width: size, rounding: .floor)
        var x = b.relu("relu", b.batchNorm("bn1", try b.conv("conv1", "input", 64, kernel: 7, stride: 2, padding: 3, bias: false)))
        x = try b.pool("maxpool", x, kernel: 3, stride: 2, padding: 1)
        let expansion = bottleneck ? 4 : 1
        for (stage, count) in blocks.enumerated() {
            let width = 64 << stage
            for block in 0..<count {
                let p = "layer\(stage + 1)_\(block)_"
                let stride = block == 0 && stage > 0 ? 2 : 1
                let blockInput = x
                var y: String
                if bottleneck {
                    y = b.relu(p + "relu1", b.batchNorm(p + "bn1", try b.conv(p + "conv1", x, width, kernel: 1, bias: false)))
                    y = b.relu(p + "relu2", b.batchNorm(p + "bn2", try b.conv(p + "conv2", y, width, kernel: 3,
                                                                             stride: stride, padding: 1, bias: false)))
                    y = b.batchNorm(p + "bn3", try b.conv(p + "conv3", y, width * 4, kernel: 1, bias: false))
                } else {
                    y = b.relu(p + "relu1", b.batchNorm(p + "bn1", try b.conv(p + "conv1", x, width, kernel: 3,
                                                                             stride: stride, padding: 1, bias: false)))
                    y = b.batchNorm(p + "bn2", try b.conv(p + "conv2", y, width, kernel: 3, padding: 1, bias: false))
                }
                var shortcut = blockInput
                if stride != 1 || b.channels(blockInput) != width * expansion {
                    shortcut = b.batchNorm(p + "downsample_1", try b.conv(p + "downsample_0", blockInput, width * expansion,
                                                                          kernel: 1, stride: stride, bias: false))
                }
                x = b.relu(p + "relu", b.add(p + "add", y, shortcut))
            }
        }
        b.linear("fc", b.flatten("flatten", b.globalAvgPool("avgpool", x)), classes)
        return b.nodes
    }

    static func resnetArchitecture(_ name: String) -> Architecture {
        let table = resnetTables[name]!
        return Architecture(
            name: name, summary: "ResNet-\(name.dropFirst(6)) (He et al. 2016, torchvision's v1.5), 224×224",
            input: imageNetInput(), head: "fc", stateDictSource: "torchvision.models.\(name) (layer1.0.conv1.weight, …)",
            builder: { try resnet(blocks: table.blocks, bottleneck: table.bottleneck, size: $0, classes: $1) },
            renamer: torchvisionRenamer())
    }
}
