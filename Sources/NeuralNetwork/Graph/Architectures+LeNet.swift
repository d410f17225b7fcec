/// LeNet-5 and the CS231n-style CIFAR-10 ConvNet: the small classic networks, trainable from scratch here.
extension Architectures {
    /// LeNet-5 (LeCun, Bottou, Bengio, Haffner, "Gradient-based learning applied to document recognition", 1998),
    /// for 32×32 grey input, with ReLU for the paper's scaled tanh and max pooling for its trainable subsampling
    /// (Graft has no tanh; the layer sizes are the paper's):
    ///
    ///     layer   op                 output     params
    ///     c1      conv 5×5, 6        6×28×28    156
    ///     s2      max pool 2×2/2     6×14×14
    ///     c3      conv 5×5, 16       16×10×10   2,416   (full connection table, not the paper's sparse one)
    ///     s4      max pool 2×2/2     16×5×5
    ///     f5      FC 400→120                    48,120
    ///     f6      FC 120→84                     10,164
    ///     fc      FC 84→classes                 850 (10 classes)
    public static func lenet5(size: Int = 32, classes: Int = 10) throws -> [NodeSpec] {
        var b = ArchitectureBuilder(channels: 1, height: size, width: size)
        var x = b.relu("relu1", try b.conv("c1", "input", 6, kernel: 5))
        x = try b.pool("s2", x, kernel: 2, stride: 2)
        x = b.relu("relu3", try b.conv("c3", x, 16, kernel: 5))
        x = try b.pool("s4", x, kernel: 2, stride: 2)
        x = b.flatten("flatten", x)
        x = b.relu("relu5", b.linear("f5", x, 120))
        x = b.relu("relu6", b.linear("f6", x, 84))
        b.linear("fc", x, classes)
        return b.nodes
    }

    /// The INPUT → [CONV → RELU → CONV → RELU → POOL]×3 → FC pattern of CS231n's "ConvNet architectures" notes,
    /// for 32×32×3 (CIFAR-10): 3×3 convolutions with padding 1 keep the size, each 2×2 pool halves it.
    ///
    ///     block   convs (3×3, pad 1)   output
    ///     block1  32, 32 + pool        32×16×16
    ///     block2  64, 64 + pool        64×8×8
    ///     block3  128, 128 + pool      128×4×4
    ///     fc      FC 2048→classes
    public static func cifarConvNet(size: Int = 32, classes: Int = 10) throws -> [NodeSpec] {
        var b = ArchitectureBuilder(channels: 3, height: size, width: size)
        var x = "input"
        for (index, width) in [32, 64, 128].enumerated() {
            let p = "block\(index + 1)_"
            x = b.relu(p + "relu1", try b.conv(p + "conv1", x, width, kernel: 3, padding: 1))
            x = b.relu(p + "relu2", try b.conv(p + "conv2", x, width, kernel: 3, padding: 1))
            x = try b.pool(p + "pool", x, kernel: 2, stride: 2)
        }
        b.linear("fc", b.flatten("flatten", x), classes)
        return b.nodes
    }

    static let lenet5Architecture = Architecture(
        name: "lenet5", summary: "LeNet-5 (LeCun et al. 1998), 32×32 grey, ReLU and max pooling",
        input: InputSpec(channels: 1, height: 32, width: 32, resize: .stretch, mean: [0.5], std: [0.5]),
        head: "fc", stateDictSource: "node-named keys (c1.weight, f5.weight, …; a PyTorch module with those attributes)",
        builder: { try lenet5(size: $0, classes: $1) }, renamer: torchvisionRenamer())

    static let cifarConvNetArchitecture = Architecture(
        name: "cifar-convnet", summary: "INPUT-[CONV-RELU-CONV-RELU-POOL]×3-FC (CS231n), 32×32×3",
        input: InputSpec(channels: 3, height: 32, width: 32, resize: .stretch, mean: [0.4914, 0.4822, 0.4465],
                         std: [0.2470, 0.2435, 0.2616]),
        head: "fc", stateDictSource: "node-named keys (block1.conv1.weight or block1_conv1.weight, …)",
        builder: { try cifarConvNet(size: $0, classes: $1) }, renamer: torchvisionRenamer())
}
