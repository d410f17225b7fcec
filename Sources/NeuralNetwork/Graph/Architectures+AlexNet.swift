/// AlexNet (torchvision's and the paper's) and ZFNet: large-kernel first layers, LRN, three fully connected layers.
extension Architectures {
    /// torchvision's AlexNet (`torchvision.models.alexnet`, after Krizhevsky's "One weird trick…", 2014: one
    /// tower, no LRN). Node names are torchvision's module paths (`features_0` ↔ `features.0`). At 224:
    ///
    ///     features_0   conv 11×11/4 pad 2, 64    64×55×55   (PyTorch rounds (224 − 11 + 4)/4 + 1 = 55.25 down)
    ///     features_2   max pool 3×3/2            64×27×27
    ///     features_3   conv 5×5 pad 2, 192       192×27×27
    ///     features_5   max pool 3×3/2            192×13×13
    ///     features_6   conv 3×3 pad 1, 384       384×13×13
    ///     features_8   conv 3×3 pad 1, 256       256×13×13
    ///     features_10  conv 3×3 pad 1, 256       256×13×13
    ///     features_12  max pool 3×3/2            256×6×6   (then AdaptiveAvgPool2d(6): identity at 224)
    ///     classifier   dropout, FC 9216→4096, ReLU, dropout, FC 4096→4096, ReLU, FC 4096→classes (classifier_6)
    public static func alexnet(size: Int = 224, classes: Int = 1000) throws -> [NodeSpec] {
        var b = ArchitectureBuilder(channels: 3, height: size, width: size, rounding: .floor)
        var x = b.relu("features_1", try b.conv("features_0", "input", 64, kernel: 11, stride: 4, padding: 2))
        x = try b.pool("features_2", x, kernel: 3, stride: 2)
        x = b.relu("features_4", try b.conv("features_3", x, 192, kernel: 5, padding: 2))
        x = try b.pool("features_5", x, kernel: 3, stride: 2)
        x = b.relu("features_7", try b.conv("features_6", x, 384, kernel: 3, padding: 1))
        x = b.relu("features_9", try b.conv("features_8", x, 256, kernel: 3, padding: 1))
        x = b.relu("features_11", try b.conv("features_10", x, 256, kernel: 3, padding: 1))
        x = try b.pool("features_12", x, kernel: 3, stride: 2)
        x = b.flatten("flatten", try b.adaptiveAvgPool("avgpool", x, side: 6))
        x = b.dropout("classifier_0", x, p: 0.5)
        x = b.relu("classifier_2", b.linear("classifier_1", x, 4096))
        x = b.dropout("classifier_3", x, p: 0.5)
        x = b.relu("classifier_5", b.linear("classifier_4", x, 4096))
        b.linear("classifier_6", x, classes)
        return b.nodes
    }

    /// The AlexNet of the paper (Krizhevsky, Sutskever, Hinton, "ImageNet classification with deep convolutional
    /// neural networks", NIPS 2012) for 227×227 (the size its first layer's arithmetic needs; the paper's 224 does
    /// not divide), one graph for the two GPUs' towers: conv2, conv4 and conv5 see only their own tower's half
    /// (`groups` 2), conv3 and the FC layers see both. LRN k = 2, n = 5, α = 1e-4, β = 0.75 after conv1 and conv2;
    /// overlapping 3×3/2 pooling.
    ///
    ///     conv1  conv 11×11/4, 96           96×55×55   LRN, max pool → 96×27×27
    ///     conv2  conv 5×5 pad 2, 256, 2 groups  256×27×27  LRN, max pool → 256×13×13
    ///     conv3  conv 3×3 pad 1, 384        384×13×13
    ///     conv4  conv 3×3 pad 1, 384, 2 groups  384×13×13
    ///     conv5  conv 3×3 pad 1, 256, 2 groups  256×13×13  max pool → 256×6×6
    ///     fc6, fc7  FC 9216→4096→4096 (dropout 0.5 before each); fc8  FC 4096→classes
    public static func alexnetOriginal(size: Int = 227, classes: Int = 1000) throws -> [NodeSpec] {
        var b = ArchitectureBuilder(channels: 3, height: size, width: size)
        var x = b.relu("relu1", try b.conv("conv1", "input", 96, kernel: 11, stride: 4))
        x = try b.pool("pool1", b.lrn("norm1", x, size: 5, alpha: 1e-4, beta: 0.75, k: 2), kernel: 3, stride: 2)
        x = b.relu("relu2", try b.conv("conv2", x, 256, kernel: 5, padding: 2, groups: 2))
        x = try b.pool("pool2", b.lrn("norm2", x, size: 5, alpha: 1e-4, beta: 0.75, k: 2), kernel: 3, stride: 2)
        x = b.relu("relu3", try b.conv("conv3", x, 384, kernel: 3, padding: 1))
        x = b.relu("relu4", try b.conv("conv4", x, 384, kernel: 3, padding: 1, groups: 2))
        x = b.relu("relu5", try b.conv("conv5", x, 256, kernel: 3, padding: 1, groups: 2))
        x = try b.pool("pool5", x, kernel: 3, stride: 2)
        x = b.dropout("drop6", b.flatten("flatten", x), p: 0.5)
        x = b.dropout("drop7", b.relu("relu6", b.linear("fc6", x, 4096)), p: 0.5)
        x = b.relu("relu7", b.linear("fc7", x, 4096))
        b.linear("fc8", x, classes)
        return b.nodes
    }

    /// ZFNet (Zeiler & Fergus, "Visualizing and understanding convolutional networks", ECCV 2014, Figure 3), for
    /// 224×224: AlexNet with a 7×7 stride-2 first layer and a stride-2 second, LRN after both. The figure's sizes
    /// (110, 55, 26, 13) come from rounding the first convolution down and the first two poolings up, as here.
    ///
    ///     conv1  conv 7×7/2 pad 1, 96       96×110×110  LRN, max pool 3×3/2 (ceil) → 96×55×55
    ///     conv2  conv 5×5/2, 256            256×26×26   LRN, max pool 3×3/2 (ceil) → 256×13×13
    ///     conv3  conv 3×3 pad 1, 384        384×13×13
    ///     conv4  conv 3×3 pad 1, 384        384×13×13
    ///     conv5  conv 3×3 pad 1, 256        256×13×13   max pool 3×3/2 → 256×6×6
    ///     fc6, fc7  FC 9216→4096→4096 (dropout 0.5 before each); fc8  FC 4096→classes
    public static func zfnet(size: Int = 224, classes: Int = 1000) throws -> [NodeSpec] {
        var b = ArchitectureBuilder(channels: 3, height: size, width: size)
        var x = b.relu("relu1", try b.conv("conv1", "input", 96, kernel: 7, stride: 2, padding: 1, rounding: .floor))
        x = try b.pool("pool1", b.lrn("norm1", x, size: 5, alpha: 1e-4, beta: 0.75, k: 2), kernel: 3, stride: 2,
                       rounding: .ceil)
        x = b.relu("relu2", try b.conv("conv2", x, 256, kernel: 5, stride: 2))
        x = try b.pool("pool2", b.lrn("norm2", x, size: 5, alpha: 1e-4, beta: 0.75, k: 2), kernel: 3, stride: 2,
                       rounding: .ceil)
        x = b.relu("relu3", try b.conv("conv3", x, 384, kernel: 3, padding: 1))
        x = b.relu("relu4", try b.conv("conv4", x, 384, kernel: 3, padding: 1))
        x = b.relu("relu5", try b.conv("conv5", x, 256, kernel: 3, padding: 1))
        x = try b.pool("pool5", x, kernel: 3, stride: 2)
        x = b.dropout("drop6", b.flatten("flatten", x), p: 0.5)
        x = b.dropout("drop7", b.relu("relu6", b.linear("fc6", x, 4096)), p: 0.5)
        x = b.relu("relu7", b.linear("fc7", x, 4096))
        b.linear("fc8", x, classes)
        return b.nodes
    }

    static let alexnetArchitecture = Architecture(
        name: "alexnet", summary: "torchvision's AlexNet (Krizhevsky 2014, one tower, no LRN), 224×224",
        input: imageNetInput(), head: "classifier_6", stateDictSource: "torchvision.models.alexnet (features.0.weight, …)",
        builder: { try alexnet(size: $0, classes: $1) }, renamer: torchvisionRenamer())

    static let alexnetOriginalArchitecture = Architecture(
        name: "alexnet-original", summary: "AlexNet as in Krizhevsky et al. 2012 (LRN, two-group convs), 227×227",
        input: imageNetInput(size: 227), head: "fc8",
        stateDictSource: "node-named keys (conv1.weight, fc6.weight, …; a PyTorch module with those attributes)",
        builder: { try alexnetOriginal(size: $0, classes: $1) }, renamer: torchvisionRenamer())

    static let zfnetArchitecture = Architecture(
        name: "zfnet", summary: "ZFNet (Zeiler & Fergus 2014: 7×7/2 first layer, LRN), 224×224",
        input: imageNetInput(), head: "fc8",
        stateDictSource: "node-named keys (conv1.weight, fc6.weight, …; a PyTorch module with those attributes)",
        builder: { try zfnet(size: $0, classes: $1) }, renamer: torchvisionRenamer())
}
