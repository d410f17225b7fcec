/// `graft import onnx`: an ONNX classifier becomes a Graft model folder (model.json + weights.safetensors) that
/// predicts, fine-tunes and exports like the models Graft ships.
import Foundation
import Tensors

public enum ONNXImport {
    /// What the file does not say about its input: how images become the tensor it takes. Each option left nil
    /// comes from the file's `graft.*` metadata when Graft exported it (so an export imports back as it was),
    /// else from `Defaults`: torchvision's evaluation transform, which every torchvision classifier expects.
    public struct Options: Sendable {
        /// Class names in output order; nil: the file's `graft.labels`, else `class 0` … `class n-1`.
        public var labels: [String]?
        /// Input height and width when the file leaves them symbolic (else the file's are used and must agree).
        public var size: Int?
        public var mean: [Float]?
        public var std: [Float]?
        public var resize: ResizePolicy?
        public var cropFraction: Double?
        /// The name recorded as the model's `base` (the output folder's name by default).
        public var name: String?

        public init(labels: [String]? = nil, size: Int? = nil, mean: [Float]? = nil, std: [Float]? = nil,
                    resize: ResizePolicy? = nil, cropFraction: Double? = nil, name: String? = nil) {
            self.labels = labels
            self.size = size
            self.mean = mean
            self.std = std
            self.resize = resize
            self.cropFraction = cropFraction
            self.name = name
        }
    }

    /// The input spec of a file that carries none: ImageNet's normalisation, the shorter side resized, then the
    /// centre 87.5 % kept.
    public enum Defaults {
        public static let mean: [Float] = [0.485, 0.456, 0.406]
        public static let std: [Float] = [0.229, 0.224, 0.225]
        public static let resize = ResizePolicy.shorterSideThenCenterCrop
        public static let cropFraction = 0.875
        public static let size = 224
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

    /// The same for an upload spooled to `url`: read in place rather than into memory, `name` standing for it in
    /// errors, and external data refused as for bytes in memory.
    public static func importModel(uploadedFile url: URL, name: String, options: Options = Options()) throws
        -> (ModelFolder, Summary) {
        try importModel(file: ONNXFile(contentsOf: url, named: URL(fileURLWithPath: name), externalDataFolder: nil),
                        options: options)
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
        let (height, width) = fileSize ?? (options.size ?? Defaults.size, options.size ?? Defaults.size)
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
        let exported = exportedSpec(file, channels: channels, height: height, width: width, classes: classes,
                                    notes: &notes)
        let labels = options.labels ?? exported.labels ?? (0..<classes).map { "class \($0)" }
        guard labels.count == classes else {
            throw ONNXError(file: path, reason: .inputs(detail: "the model has \(classes) outputs but the labels file names \(labels.count) classes"))
        }
        func perChannel(_ values: [Float]) -> [Float] { values.count == channels ? values : Array(values.prefix(channels)) }
        let spec = InputSpec(channels: channels, height: height, width: width,
                             resize: options.resize ?? exported.input?.resize ?? Defaults.resize,
                             mean: perChannel(options.mean ?? exported.input?.mean ?? Defaults.mean),
                             std: perChannel(options.std ?? exported.input?.std ?? Defaults.std),
                             cropFraction: options.cropFraction ?? exported.input?.cropFraction ?? Defaults.cropFraction,
                             fastJPEG: exported.input?.fastJPEG ?? false)
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
            built = try Graph(nodes: nodes, output: output, weights: translator.weights, file: path,
                              inputShape: manifest.inputShape(batch: 1), context: ComputeContext(threads: 1))
        } catch let error as ModelError {
            throw ONNXError(file: path, reason: .invalidModel(detail: error.message))
        }
        let summary = Summary(onnxNodes: graph.node.count, graftNodes: nodes.count,
                              foldedConstants: translator.foldedConstants, opset: file.opset, sha256: file.sha256,
                              notes: notes)
        return (ModelFolder(manifest: manifest, graph: built), summary)
    }

    /// The input spec and labels a Graft export recorded in the file's metadata, when they describe this graph;
    /// metadata that does not parse or does not fit is set aside with a note, never trusted half-way.
    static func exportedSpec(_ file: ONNXFile, channels: Int, height: Int, width: Int, classes: Int,
                             notes: inout [String]) -> (input: InputSpec?, labels: [String]?) {
        let metadata = Dictionary(file.model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        var input: InputSpec?
        var labels: [String]?
        if let text = metadata[ONNXExport.MetadataKey.input] {
            if let spec = try? JSONDecoder().decode(InputSpec.self, from: Data(text.utf8)),
               spec.channels == channels, spec.height == height, spec.width == width, spec.problems.isEmpty {
                input = spec
                notes.append("input spec (resize, crop, mean, std) from the file's \(ONNXExport.MetadataKey.input)")
            } else {
                notes.append("ignored \(ONNXExport.MetadataKey.input): it does not describe a \(channels)×\(height)×\(width) input")
            }
        }
        if let text = metadata[ONNXExport.MetadataKey.labels] {
            if let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8)),
               names.count == classes, !names.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                labels = names
                notes.append("labels from the file's \(ONNXExport.MetadataKey.labels)")
            } else {
                notes.append("ignored \(ONNXExport.MetadataKey.labels): it does not name \(classes) classes")
            }
        }
        return (input, labels)
    }
}
