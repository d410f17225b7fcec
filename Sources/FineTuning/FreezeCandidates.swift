/// The depths `"freeze": "auto"` considers: the stage boundaries of any base graph, found from its structure
/// (where one tensor carries everything, and where the resolution is about to change), not from a list per model.
import Foundation
import NeuralNetwork
import Tensors

/// Finds a network's stage boundaries from its graph alone, so that imported ONNX models get them too.
///
/// A node is a *cut* when every path from the input to the head passes through its output: freezing the graph up
/// to it (in graph order) leaves one tensor between the frozen and the trained part, which is also what the
/// feature cache needs. Residual blocks make cuts at their outputs only (the skip connection spans the block), a
/// plain chain at every node. Cuts are grouped by the spatial size of their output; the narrowest cut of each
/// resolution (the last of equals) is a *stage boundary* — the end of a ResNet stage, of an EfficientNet stage
/// group — when some weight lies above it (the last resolution before global pooling ends with nothing but the
/// head to train, and is left out).
public enum FreezeCandidates {
    /// The stage-boundary node names, shallowest first; `nodes` in graph order, the head's input first in
    /// `inputShape` (N×C×H×W with N = 1).
    public static func stageBoundaries(graph: Graph, head: String, inputShape: [Int]) throws -> [String] {
        let nodes = graph.nodes
        guard let headIndex = nodes.firstIndex(where: { $0.name == head }) else {
            throw FineTuneError.incompatibleModel(message: "head node '\(head)' is not in the graph")
        }
        let shapes = try graph.shapes(for: inputShape)
        // Only the head's ancestors matter (a trailing Softmax or an auxiliary branch is dropped by the plan too).
        var needed: Set<String> = [head]
        for node in nodes[...headIndex].reversed() where needed.contains(node.name) { node.inputs.forEach { needed.insert($0) } }
        let kept = nodes.indices.filter { $0 < headIndex && needed.contains(nodes[$0].name) }
        let position = Dictionary(uniqueKeysWithValues: kept.enumerated().map { (nodes[$0.element].name, $0.offset) })
        // lastUse[p]: the last position (in the kept order, the head counting as kept.count) that reads the output of
        // position p; -1 stands for the graph input.
        var lastUse = [Int](repeating: -1, count: kept.count)
        var inputLastUse = -1
        let readers: [(position: Int, node: Int)] = kept.enumerated().map { ($0.offset, $0.element) } + [(kept.count, headIndex)]
        for (p, i) in readers {
            for name in nodes[i].inputs {
                if name == Graph.inputName { inputLastUse = max(inputLastUse, p) } else if let q = position[name] {
                    lastUse[q] = max(lastUse[q], p)
                }
            }
        }
        // Position p is a cut when nothing before it (the input included) is read after it.
        var cuts: [Int] = []
        var reach = inputLastUse
        for p in kept.indices {
            if reach <= p { cuts.append(p) }
            reach = max(reach, lastUse[p])
        }
        // The cuts with a spatial map, grouped by resolution in graph order.
        let spatial = cuts.filter { shapes[kept[$0]].count == 4 && shapes[kept[$0]][2] * shapes[kept[$0]][3] > 1 }
        // A boundary with no weights above it (below the head) would train the head alone: the probe already does.
        let hasWeights = kept.map { graph.layers[$0].parameters.contains { $0.kind == .weight } }
        var groups: [[Int]] = []
        for p in spatial {
            if let last = groups.last?.last, shapes[kept[last]][2...3] == shapes[kept[p]][2...3] {
                groups[groups.count - 1].append(p)
            } else {
                groups.append([p])
            }
        }
        // Within a resolution, the block output is the narrowest cut (the last of equals): an inverted-residual
        // block that downsamples widens first at the old resolution (its expansion is a cut too), and cutting
        // there would split the block.
        var boundaries: [String] = []
        for group in groups.dropLast() {
            let narrowest = group.map { shapes[kept[$0]][1] }.min()!
            let p = group.last { shapes[kept[$0]][1] == narrowest }!
            if hasWeights[(p + 1)...].contains(true) { boundaries.append(nodes[kept[p]].name) }
        }
        return boundaries
    }

    /// The fixed policies the search scores, shallowest (fewest layers trained) first: every stage boundary
    /// from the deepest up, then `none`. `backbone`, the linear probe, is scored apart.
    public static func policies(graph: Graph, head: String, inputShape: [Int]) throws -> [FreezePolicy] {
        let boundaries = try stageBoundaries(graph: graph, head: head, inputShape: inputShape)
        return boundaries.reversed().map { FreezePolicy.until($0) } + [.none]
    }

    /// The candidates of a base model described by its manifest alone (its graph built for the shapes, weights not
    /// read): what a service can show before any data is loaded.
    public static func policies(manifest: ModelManifest) throws -> [FreezePolicy] {
        let graph = try Graph(nodes: manifest.nodes, output: manifest.head, context: ComputeContext(threads: 1))
        return try policies(graph: graph, head: manifest.head, inputShape: manifest.inputShape(batch: 1))
    }
}
