import Foundation
import Tensors

/// `model.json`: everything about a model except its weights — format version, graph nodes, input spec, class
/// labels, head node, provenance and metrics. Keys are snake_case as in DESIGN.md.
public struct ModelManifest: Codable, Equatable, Sendable {
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    public var nodes: [NodeSpec]
    /// What the network takes: size, channels, resize policy, crop and normalisation.
    public var input: InputSpec
    public var labels: [String]
    /// When set, `labels` live in this file beside `model.json` (one per line, class-index order) rather than in
    /// it: for base models whose class names come from a third party at set-up while the manifest is committed.
    public var labelsFile: String?
    /// The classifier head node (replaced when fine-tuning); its output is the model output.
    public var head: String
    /// Free-form origin: base model, dataset, job id, tool versions.
    public var provenance: [String: String]
    /// Final metrics of the run that produced the model (accuracy, loss, …).
    public var metrics: [String: Double]

    public init(nodes: [NodeSpec], input: InputSpec, labels: [String], labelsFile: String? = nil, head: String,
                provenance: [String: String] = [:], metrics: [String: Double] = [:]) {
        formatVersion = Self.currentFormatVersion
        self.nodes = nodes
        self.input = input
        self.labels = labels
        self.labelsFile = labelsFile
        self.head = head
        self.provenance = provenance
        self.metrics = metrics
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", nodes, input, labels, labelsFile = "labels_file", head, provenance, metrics
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try c.decode(Int.self, forKey: .formatVersion)
        nodes = try c.decode([NodeSpec].self, forKey: .nodes)
        input = try c.decode(InputSpec.self, forKey: .input)
        labelsFile = try c.decodeIfPresent(String.self, forKey: .labelsFile)
        // with a labels file the list is read from it; without one it is required (possibly empty)
        labels = labelsFile == nil ? try c.decode([String].self, forKey: .labels)
            : try c.decodeIfPresent([String].self, forKey: .labels) ?? []
        head = try c.decode(String.self, forKey: .head)
        provenance = try c.decodeIfPresent([String: String].self, forKey: .provenance) ?? [:]
        metrics = try c.decodeIfPresent([String: Double].self, forKey: .metrics) ?? [:]
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(nodes, forKey: .nodes)
        try c.encode(input, forKey: .input)
        if let labelsFile { try c.encode(labelsFile, forKey: .labelsFile) } else { try c.encode(labels, forKey: .labels) }
        try c.encode(head, forKey: .head)
        try c.encode(provenance, forKey: .provenance)
        try c.encode(metrics, forKey: .metrics)
    }

    private static func checkLabelsFileName(_ file: String, manifest url: URL) throws {
        guard !file.isEmpty, !file.contains("/"), !file.hasPrefix(".") else {
            throw ModelError("\(url.path): labels_file must name a file beside model.json, got '\(file)'")
        }
    }

    /// The labels of a labels file: one per line, a final newline optional, no empty names.
    public static func readLabels(contentsOf url: URL) throws -> [String] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ModelError("\(url.path): cannot read the labels file named by model.json (\(error.localizedDescription)); "
                + "it is written at set-up — for efficientnet-lite0 run scripts/fetch-efficientnet-lite0")
        }
        var names = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if names.last == "" { names.removeLast() }
        if let line = names.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ModelError("\(url.path): line \(line + 1) is empty; give one class name per line")
        }
        return names
    }

    /// Reads and validates a manifest; errors name the file and what is wrong.
    public static func read(contentsOf url: URL) throws -> ModelManifest {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError("\(url.path): cannot read the model manifest (\(error.localizedDescription))")
        }
        let manifest: ModelManifest
        do { manifest = try JSONDecoder().decode(ModelManifest.self, from: data) } catch let error as DecodingError {
            throw ModelError("\(url.path): invalid model manifest: \(describe(error))")
        }
        var resolved = manifest
        if let file = manifest.labelsFile {
            try checkLabelsFileName(file, manifest: url)
            resolved.labels = try readLabels(contentsOf: url.deletingLastPathComponent().appendingPathComponent(file))
        }
        try resolved.validate(file: url.path)
        return resolved
    }

    /// Writes pretty-printed JSON with sorted keys (stable diffs), and the labels file beside it when there is one.
    public func write(to url: URL) throws {
        if let labelsFile {
            try Self.checkLabelsFileName(labelsFile, manifest: url)
            let text = labels.map { $0 + "\n" }.joined()
            try Data(text.utf8).write(to: url.deletingLastPathComponent().appendingPathComponent(labelsFile),
                                      options: .atomic)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// Checks the version, the input spec, that the head exists and that the graph builds for the input shape.
    public func validate(file: String) throws {
        guard formatVersion == Self.currentFormatVersion else {
            throw ModelError("\(file): format_version \(formatVersion) is not supported (this Graft reads \(Self.currentFormatVersion))")
        }
        let problems = input.problems
        guard problems.isEmpty else { throw ModelError("\(file): input spec: \(problems.joined(separator: "; "))") }
        guard nodes.contains(where: { $0.name == head }) else {
            throw ModelError("\(file): head node '\(head)' is not in the graph")
        }
        do {
            let graph = try Graph(nodes: nodes, output: head, context: ComputeContext(threads: 1))
            let shapes = try graph.shapes(for: inputShape(batch: 1))
            let classes = shapes[graph.outputIndex].last ?? 0
            guard labels.isEmpty || labels.count == classes else {
                throw ModelError("head '\(head)' gives \(classes) outputs but there are \(labels.count) labels")
            }
        } catch let error as ModelError {
            throw ModelError("\(file): \(error.message)")
        }
    }

    /// N×C×H×W for a batch.
    public func inputShape(batch: Int) -> [Int] { [batch, input.channels, input.height, input.width] }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing '\(key.stringValue)' at \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(context.debugDescription) at \(path(context))"
        @unknown default:
            return "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let parts = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return parts.isEmpty ? "the top level" : parts
    }
}
