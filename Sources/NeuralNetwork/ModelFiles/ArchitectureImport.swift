/// Turns a PyTorch state dict of a named architecture into a Graft model folder (`graft import pytorch --arch`).
import Foundation

extension Architecture {
    /// What an import did besides loading: the tensors the file held, and notes on anything set aside.
    public struct ImportSummary: Sendable {
        public var tensorCount: Int
        public var classes: Int
        public var notes: [String]
    }

    /// The model of a PyTorch state dict of this architecture (`.pth`/`.pt`, legacy or zip, or `.safetensors`)
    /// at a square `size` (the architecture's own when nil). The class count is read from the head's weight, so a
    /// state dict trained for 10 classes imports as a 10-class model; `labels`, when given, must match it
    /// (placeholders `class N` otherwise).
    public func importModel(checkpoint url: URL, labels: [String]?, size: Int? = nil) throws -> (ModelFolder, ImportSummary) {
        let source = url.pathExtension == "safetensors"
            ? try Safetensors.read(contentsOf: url).tensors : try PyTorchCheckpoint.read(contentsOf: url)
        let (tensors, notes) = try graftStateDict(fromPyTorch: source, file: url.path)
        guard let headWeight = tensors[head + ".weight"], headWeight.shape.count == 2 else {
            throw ModelError("\(url.path): no 2-D tensor for the head '\(head).weight' (is this a \(name) state dict? "
                + "expected keys: \(stateDictSource))")
        }
        let classes = headWeight.shape[0]
        let names = labels ?? (0..<classes).map { "class \($0)" }
        guard names.count == classes else {
            throw ModelError("\(names.count) labels for a \(name) whose head '\(head)' has \(classes) outputs; give one "
                + "label per output")
        }
        var spec = input
        if let size { spec.height = size; spec.width = size }
        let nodes = try self.nodes(size: spec.height, classes: classes)
        let graph = try Graph(nodes: nodes, output: head, weights: tensors, file: url.path,
                              inputShape: [1, spec.channels, spec.height, spec.width])
        let manifest = ModelManifest(nodes: nodes, input: spec, labels: names, head: head,
                                     provenance: ["base": name, "imported_from": url.lastPathComponent])
        return (ModelFolder(manifest: manifest, graph: graph), ImportSummary(tensorCount: source.count, classes: classes, notes: notes))
    }
}
