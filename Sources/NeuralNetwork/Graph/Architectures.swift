/// Ready-made graph specifications (as `model.json` nodes): the small ResNet of the benchmarks here, the classic
/// networks in Architectures+*.swift, all of them by name in Architectures+Registry.swift.
public enum Architectures {
    /// ResNet-8 for small grey images: stem conv 3×3 (in→16) + BN + ReLU; BasicBlocks 16→16 (stride 1),
    /// 16→32 (stride 2, 1×1 conv + BN shortcut), 32→64 (stride 2, same); global average pool; Linear 64→classes.
    /// Head node: `fc`.
    public static func resnet8(inputChannels: Int = 1, classes: Int = 10) -> [NodeSpec] {
        var nodes: [NodeSpec] = []
        func conv(_ name: String, _ input: String, _ cin: Int, _ cout: Int, kernel: Int, stride: Int) {
            nodes.append(NodeSpec(name: name, op: "Conv2d", attributes: [
                "in_channels": .int(cin), "out_channels": .int(cout), "kernel_size": .int(kernel),
                "stride": .int(stride), "padding": .int(kernel / 2), "bias": .bool(false),
            ], inputs: [input]))
        }
        func bn(_ name: String, _ input: String, _ channels: Int) {
            nodes.append(NodeSpec(name: name, op: "BatchNorm2d", attributes: ["num_features": .int(channels)], inputs: [input]))
        }
        func relu(_ name: String, _ input: String) { nodes.append(NodeSpec(name: name, op: "ReLU", inputs: [input])) }

        conv("conv1", "input", inputChannels, 16, kernel: 3, stride: 1)
        bn("bn1", "conv1", 16)
        relu("relu1", "bn1")
        var previous = "relu1"
        for (index, (cin, cout, stride)) in [(16, 16, 1), (16, 32, 2), (32, 64, 2)].enumerated() {
            let p = "layer\(index + 1)"
            conv("\(p)_conv1", previous, cin, cout, kernel: 3, stride: stride)
            bn("\(p)_bn1", "\(p)_conv1", cout)
            relu("\(p)_relu1", "\(p)_bn1")
            conv("\(p)_conv2", "\(p)_relu1", cout, cout, kernel: 3, stride: 1)
            bn("\(p)_bn2", "\(p)_conv2", cout)
            var shortcut = previous
            if stride != 1 || cin != cout {
                conv("\(p)_down_conv", previous, cin, cout, kernel: 1, stride: stride)
                bn("\(p)_down_bn", "\(p)_down_conv", cout)
                shortcut = "\(p)_down_bn"
            }
            nodes.append(NodeSpec(name: "\(p)_add", op: "Add", inputs: ["\(p)_bn2", shortcut]))
            relu("\(p)_relu2", "\(p)_add")
            previous = "\(p)_relu2"
        }
        nodes.append(NodeSpec(name: "pool", op: "GlobalAvgPool", inputs: [previous]))
        nodes.append(NodeSpec(name: "flatten", op: "Flatten", inputs: ["pool"]))
        nodes.append(NodeSpec(name: "fc", op: "Linear", attributes: ["in_features": .int(64), "out_features": .int(classes)],
                              inputs: ["flatten"]))
        return nodes
    }
}
