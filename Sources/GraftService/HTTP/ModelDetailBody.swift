// GET /models/:id: the model's row plus what its files say — input spec, head node and a per-node layer summary.
import Foundation
import NeuralNetwork

/// A model with its architecture, read from the folder's `model.json` (the graph is built; weights are not read).
///
/// When the folder cannot be read the row is still shown, with `architecture_error` saying why.
struct ModelDetailBody: Encodable {
    struct Input: Encodable {
        var channels: Int
        var height: Int
        var width: Int
        var resize: String
        var mean: [Float]
        var std: [Float]
        /// The centred fraction of the resized region kept (1: all of it).
        var cropFraction: Double
    }

    /// One node of the graph: its op, inputs, output shape for one image (C×H×W or features) and weight count.
    struct Layer: Encodable {
        var node: String
        var op: String
        var inputs: [String]
        var outputShape: [Int]
        var parameters: Int
    }

    var model: ModelBody
    var input: Input?
    var head: String?
    var layers: [Layer]?
    /// Learned weights in all layers (BatchNorm running statistics excluded).
    var totalParameters: Int?
    /// Running statistics and other non-learned tensors.
    var totalBuffers: Int?
    var architectureError: String?

    init(_ record: ModelRecord) {
        model = ModelBody(record)
        do {
            let manifestURL = URL(fileURLWithPath: record.path).appendingPathComponent("model.json")
            let manifest = try ModelManifest.read(contentsOf: manifestURL)
            let graph = try Graph(nodes: manifest.nodes, output: manifest.head, context: ComputeContext(threads: 1))
            let rows = try graph.summaryRows(inputShape: manifest.inputShape(batch: 1))
            let spec = manifest.input
            input = Input(channels: spec.channels, height: spec.height, width: spec.width, resize: spec.resize.rawValue,
                          mean: spec.mean, std: spec.std, cropFraction: spec.cropFraction)
            head = manifest.head
            layers = rows.map { Layer(node: $0.node, op: $0.op, inputs: $0.inputs,
                                      outputShape: Array($0.outputShape.dropFirst()), parameters: $0.parameters) }
            totalParameters = rows.map(\.parameters).reduce(0, +)
            totalBuffers = graph.namedParameters().filter { $0.parameter.kind == .buffer }
                .map(\.parameter.value.count).reduce(0, +)
        } catch {
            architectureError = "The model folder \(record.path) could not be read: \(error)"
        }
    }

    /// The row's fields at the top level, then the architecture.
    func encode(to encoder: Encoder) throws {
        try model.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(input, forKey: .input)
        try container.encodeIfPresent(head, forKey: .head)
        try container.encodeIfPresent(layers, forKey: .layers)
        try container.encodeIfPresent(totalParameters, forKey: .totalParameters)
        try container.encodeIfPresent(totalBuffers, forKey: .totalBuffers)
        try container.encodeIfPresent(architectureError, forKey: .architectureError)
    }

    private enum CodingKeys: String, CodingKey {
        case input, head, layers, totalParameters, totalBuffers, architectureError
    }
}
