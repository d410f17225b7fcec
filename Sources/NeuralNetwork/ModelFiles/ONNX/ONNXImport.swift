/// `graft import onnx`: an ONNX classifier becomes a Graft model folder (model.json + weights.safetensors) that
/// predicts, fine-tunes and exports like the models Graft ships.
import Foundation
import Tensors

public enum ONNXImport {
    /// What the file does not say about its input: how images become the tensor it takes.
    public struct Options: Sendable {
        /// Class names in output order; nil names them `class 0` … `class n-1`.
        public var labels: [String]?
        /// Input height and width when the file leaves them symbolic (else the file's are used and must agree).
        public var size: Int?
        public var mean: [Float]
        public var std: [Float]
        public var resize: ResizePolicy
        public var cropFraction: Double
        /// The name recorded as the model's `base` (the output folder's name by default).
        public var name: String?

        /// ImageNet's normalisation and torchvision's evaluation transform (resize the shorter side, centre crop
        /// 87.5 %): what every torchvision classifier expects.
        public init(labels: [String]? = nil, size: Int? = nil, mean: [Float] = [0.485, 0.456, 0.406],
                    std: [Float] = [0.229, 0.224, 0.225], resize: ResizePolicy = .shorterSideThenCenterCrop,
                    cropFraction: Double = 0.875, name: String? = nil) {
            self.labels = labels
            self.size = size
            self.mean = mean
            self.std = std
            self.resize = resize
            self.cropFraction = cropFraction
            self.name = name
        }
    }

    /// What an import did, for the command's report and the HTTP answer.
    public struct Summary: Sendable {
        public var onnxNodes: Int
        public var graftNodes: Int
        public var foldedConstants: Int
        public var opset: Int
        public var sha256: String
        public var notes: [String]
    }

    /// Reads, translates and checks the model; nothing is written (save the folder to keep it).
    public static func importModel(contentsOf url: URL, options: Options = Options()) throws -> (ModelFolder, Summary) {
        try importModel(file: ONNXFile(contentsOf: url), options: options)
    }

    /// The same for bytes already in memory (an upload): `name` stands for the file in errors, and external data is
    /// refused (there is no folder it could safely come from).
    public static func importModel(data: Data, name: String, options: Options = Options()) throws -> (ModelFolder, Summary) {
        try importModel(file: ONNXFile(data: data, url: URL(fileURLWithPath: name), externalDataFolder: nil), options: options)
    }

    static func importModel(file: ONNXFile, options: Options) throws -> (ModelFolder, Summary) {
        let path = file.url.path
        let graph = file.model.graph
        let initializers = Set(file.initializers.map(\.name))
        let inputs = graph.input.filter { !initializers.contains($0.name) }
        guard inputs.count == 1, let input = inputs.first else {
            throw ONNXError(file: path, reason: .inputs(detail:
                "has \(inputs.count) graph inputs (\(inputs.map(\.name).joined(separator: ", "))); an image classifier has one"))
        }
        let tensorType = input.type.tensorType
        guard input.type.tensorType.elemType == 1 else {
            throw ONNXError(file: path, reason: .inputs(detail:
                "input '\(input.name)' has element type \(tensorType.elemType); Graft feeds float32 images"))
        }
        let dims: [Int?] = tensorType.shape.dim.map { if case .dimValue(let v)? = $0.value, v > 0 { return Int(v) } else { return nil } }
        guard dims.count == 4 else {
            throw ONNXError(file: path, reason: .inputs(detail:
                "input '\(input.name)' has rank \(dims.count); Graft feeds N×C×H×W images"))
        }
        let channels = dims[1] ?? 3
        guard channels == 1 || channels == 3 else {
            throw ONNXError(file: path, reason: .inputs(detail: "input '\(input.name)' has \(channels) channels; images have 1 or 3"))
        }
        let fileSize: (Int, Int)? = dims[2].flatMap { h in dims[3].map { (h, $0) } }
        if let size = options.size, let (h, w) = fileSize, h != size || w != size {
            throw ONNXError(file: path, reason: .inputs(detail:
                "the file fixes the input at \(h)×\(w), which --size \(size) contradicts; drop --size or export with dynamic axes"))
        }
        let (height, width) = fileSize ?? (options.size ?? 224, options.size ?? 224)
        let translator = ONNXTranslator(file: file)
        var output = try translator.translate(inputName: input.name, inputShape: [1, channels, height, width],
                                              declaredBatch: dims[0])
        var notes = translator.notes
        // Graft turns logits into probabilities itself: a final softmax would be applied twice
        if let spec = translator.spec(of: output), spec.op == "Softmax", spec.inputs[0] != Graph.inputName {
            translator.remove(output)
            output = spec.inputs[0]
            notes.append("dropped the final Softmax: Graft applies softmax to the logits itself")
        }
        let nodes = translator.result
        let classes = translator.shape(ofNode: output)?.last ?? 0
        guard translator.shape(ofNode: output)?.count == 2 else {
            throw ONNXError(file: path, reason: .invalidModel(detail:
                "the output '\(output)' has shape \(translator.shape(ofNode: output) ?? []); a classifier outputs N×classes"))
        }
        let labels = options.labels ?? (0..<classes).map { "class \($0)" }
        guard labels.count == classes else {
            throw ONNXError(file: path, reason: .inputs(detail: "the model has \(classes) outputs but the labels file names \(labels.count) classes"))
        }
        let spec = InputSpec(channels: channels, height: height, width: width, resize: options.resize,
                             mean: channels == options.mean.count ? options.mean : Array(options.mean.prefix(channels)),
                             std: channels == options.std.count ? options.std : Array(options.std.prefix(channels)),
                             cropFraction: options.cropFraction)
        guard spec.problems.isEmpty else {
            throw ONNXError(file: path, reason: .inputs(detail: "input spec: \(spec.problems.joined(separator: "; "))"))
        }
        var provenance = [
            "imported_from": file.url.lastPathComponent, "onnx_sha256": file.sha256, "onnx_opset": "\(file.opset)",
            "onnx_producer": [file.model.producerName, file.model.producerVersion].filter { !$0.isEmpty }.joined(separator: " "),
        ]
        if let name = options.name { provenance["base"] = name }
        let manifest = ModelManifest(nodes: nodes, input: spec, labels: labels, head: output, provenance: provenance)
        let built: Graph
        do {
            built = try Graph(nodes: nodes, output: output, inputShape: manifest.inputShape(batch: 1),
                              context: ComputeContext(threads: 1))
            try built.load(stateDict: translator.weights, file: path)
        } catch let error as ModelError {
            throw ONNXError(file: path, reason: .invalidModel(detail: error.message))
        }
        let summary = Summary(onnxNodes: graph.node.count, graftNodes: nodes.count,
                              foldedConstants: translator.foldedConstants, opset: file.opset, sha256: file.sha256,
                              notes: notes)
        return (ModelFolder(manifest: manifest, graph: built), summary)
    }
}
