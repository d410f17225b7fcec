import Foundation

/// A model on disk: a folder with `model.json` (the manifest) and `weights.safetensors` (every parameter and
/// buffer as `node.param`). Base and fine-tuned models share the format.
public struct ModelFolder {
    public static let manifestName = "model.json"
    public static let weightsName = "weights.safetensors"

    public let manifest: ModelManifest
    public let graph: Graph

    public init(manifest: ModelManifest, graph: Graph) {
        self.manifest = manifest
        self.graph = graph
    }

    /// Loads and validates both files: the manifest (version, input spec, head, shapes) and every weight
    /// against the graph (missing, unused and mis-shaped tensors are errors naming the file and the tensor).
    public static func load(from folder: URL, context: ComputeContext = ComputeContext()) throws -> ModelFolder {
        let manifest = try ModelManifest.read(contentsOf: folder.appendingPathComponent(manifestName))
        let weightsURL = folder.appendingPathComponent(weightsName)
        let tensors = try Safetensors.read(contentsOf: weightsURL).tensors
        let graph = try Graph(nodes: manifest.nodes, output: manifest.head, weights: tensors, file: weightsURL.path,
                              context: context)
        return ModelFolder(manifest: manifest, graph: graph)
    }

    /// Writes both files into `folder` (created when missing); the manifest's nodes are taken from the graph.
    /// Returns the SHA-256 of the weights file written, which the service records as the model's identity.
    @discardableResult
    public func save(to folder: URL) throws -> String {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var manifest = self.manifest
        manifest.nodes = graph.nodes
        try manifest.write(to: folder.appendingPathComponent(Self.manifestName))
        // hashed as it is written, not by reading the file back
        return try Safetensors.write(graph.stateDict(), metadata: ["format": "pt", "producer": "graft"],
                                     to: folder.appendingPathComponent(Self.weightsName))
    }
}
