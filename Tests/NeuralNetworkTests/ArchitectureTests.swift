// The named architectures: each builds into a graph at its own input size with torchvision's parameter count,
// the output-size check refuses sizes the strides do not divide (naming the layer), and state-dict keys map.
import Foundation
import Testing
@testable import NeuralNetwork

@Suite struct ArchitectureTests {
    /// Parameter counts (weights, biases, BatchNorm affine; no running statistics) printed by PyTorch 1.13 for
    /// torchvision 0.14's models (`sum(p.numel() for p in model.parameters())`, googlenet without its aux heads)
    /// and for the paper networks in Tests/Architectures/make_arch_fixtures.py; EfficientNet-Lite1/2 summed over
    /// the PyPI wheels' .pth files (their running statistics left out).
    static let parameterCounts: [String: Int] = [
        "lenet5": 61_706, "cifar-convnet": 307_498, "alexnet": 61_100_840, "alexnet-original": 60_965_224,
        "zfnet": 62_357_608, "vgg11": 132_863_336, "vgg16": 138_357_544, "vgg16-bn": 138_365_992,
        "googlenet": 6_624_904, "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
        "mobilenet-v2": 3_504_872, "efficientnet-lite1": 5_416_680, "efficientnet-lite2": 6_092_072,
    ]

    @Test(arguments: parameterCounts.keys.sorted())
    func buildsWithTorchvisionsParameterCount(name: String) throws {
        let architecture = try Architectures.named(name)
        let classes = architecture.input.channels == 1 || name == "cifar-convnet" ? 10 : 1000
        let nodes = try architecture.nodes(classes: classes)
        let input = architecture.input
        let graph = try Graph(nodes: nodes, output: architecture.head,
                              inputShape: [1, input.channels, input.height, input.width])
        let rows = try graph.summaryRows(inputShape: [1, input.channels, input.height, input.width])
        #expect(rows.map(\.parameters).reduce(0, +) == Self.parameterCounts[name], "\(name)")
        #expect(rows.last?.node == architecture.head && rows.last?.outputShape == [1, classes], "\(name)")
    }

    @Test func everyRegisteredNameIsUniqueAndFound() throws {
        let names = Architectures.all.map(\.name)
        #expect(Set(names).count == names.count)
        for name in names { #expect(try Architectures.named(name).name == name) }
        let error = #expect(throws: ModelError.self) { try Architectures.named("resnet19") }
        #expect(error?.message.contains("resnet18") == true, "the known names are listed")
    }

    @Test func nonIntegerOutputSizeIsRefusedNamingTheLayer() throws {
        // VGG-16 at 100: 100 → 50 → 25, then (25 − 2)/2 + 1 = 12.5 at the third pool, features.16
        let vgg = #expect(throws: ModelError.self) { try Architectures.named("vgg16").nodes(size: 100) }
        #expect(vgg?.message.contains("'features_16'") == true && vgg?.message.contains("not an integer") == true,
                "\(vgg?.message ?? "")")
        // LeNet-5 at 30: 26 → 13 → 9, then (9 − 2)/2 + 1 = 4.5 at s4
        let lenet = #expect(throws: ModelError.self) { try Architectures.named("lenet5").nodes(size: 30, classes: 10) }
        #expect(lenet?.message.contains("'s4'") == true, "\(lenet?.message ?? "")")
        // a size the strides divide builds, with the formula's sizes: cifar-convnet at 64 ends 128×8×8
        let nodes = try Architectures.named("cifar-convnet").nodes(size: 64, classes: 10)
        #expect(nodes.first { $0.name == "fc" }?.attributes["in_features"] == .int(128 * 8 * 8))
    }

    @Test func adaptivePoolOverUnevenWindowsIsRefused() throws {
        // VGG at 64 leaves 2×2 features: torchvision's AdaptiveAvgPool2d(7) would up-sample, which Graft does not
        let error = #expect(throws: ModelError.self) { try Architectures.named("vgg11").nodes(size: 64) }
        #expect(error?.message.contains("'avgpool'") == true, "\(error?.message ?? "")")
        // at 448 it is an exact 2×2 average pool
        let nodes = try Architectures.named("vgg11").nodes(size: 448)
        #expect(nodes.first { $0.name == "avgpool" }?.op == "AvgPool2d")
    }

    @Test func ceilModePoolingFollowsPyTorch() throws {
        // GoogLeNet's maxpool1 takes 112 to 56 with ceil_mode (55.5 rounded up), ZFNet's pool1 110 to 55
        #expect(try ArchitectureBuilder.outputSize(112, kernel: 3, stride: 2, padding: 0, rounding: .ceil, layer: "p") == 56)
        #expect(try ArchitectureBuilder.outputSize(110, kernel: 3, stride: 2, padding: 0, rounding: .ceil, layer: "p") == 55)
        // the last window must start inside the input: 5 with kernel 2, stride 2, padding 1 is 3, not 4
        #expect(try ArchitectureBuilder.outputSize(5, kernel: 2, stride: 2, padding: 1, rounding: .ceil, layer: "p") == 3)
        #expect(try ArchitectureBuilder.outputSize(224, kernel: 7, stride: 2, padding: 3, rounding: .floor, layer: "p") == 112)
    }

    @Test func torchvisionKeysMapToNodeNamesAndAuxHeadsAreSetAside() throws {
        let t = Tensor(shape: [1], scalars: [1])
        let (tensors, notes) = try Architectures.named("googlenet").graftStateDict(fromPyTorch: [
            "inception3a.branch2.0.conv.weight": t, "conv1.bn.num_batches_tracked": t, "aux1.fc1.weight": t,
            "aux2.conv.conv.weight": t, "fc.bias": t,
        ], file: "x.pth")
        #expect(Set(tensors.keys) == ["inception3a_branch2_0_conv.weight", "fc.bias"])
        #expect(notes.count == 2 && notes[0].contains("aux1"))
        let error = #expect(throws: ModelError.self) {
            try Architectures.named("resnet18").graftStateDict(fromPyTorch: ["weight": t], file: "x.pth")
        }
        #expect(error?.message.contains("'weight'") == true)
    }
}
