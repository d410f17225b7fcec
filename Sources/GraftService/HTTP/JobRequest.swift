// POST /jobs: decodes and validates the body into a job specification, filling defaults.
import FineTuning
import Foundation
import NeuralNetwork

/// A validated job request: the base model, the dataset and every hyperparameter, defaults filled in.
///
/// Body: `{"base_model": id, "dataset": id, "hyperparameters": {...}}`, every part optional. Unknown keys and
/// out-of-range values are 422 errors naming the field, so typos do not silently train with defaults.
struct JobRequest {
    /// Every hyperparameter with its default: a default `FineTuneSpec` as JSON. The spec type is the one source of
    /// names, types, defaults and validation, so the service and `graft finetune` accept exactly the same fields.
    static let defaultHyperparameters: [String: JSONValue] = {
        guard case .object(let fields) = try? encode(FineTuneSpec()) else {
            preconditionFailure("FineTuneSpec must encode as a JSON object")
        }
        return fields
    }()

    var baseModelID: String
    var datasetID: String
    var hyperparameters: [String: JSONValue]

    /// The stored specification (keys sorted).
    var specJSON: String {
        JSONValue.object([
            "base_model": .string(baseModelID),
            "dataset": .string(datasetID),
            "hyperparameters": .object(hyperparameters),
        ]).text
    }

    /// Validates `body` (already parsed) against the store's models and datasets, and the job's size against
    /// `limits` (steps, metric rows, memory).
    ///
    /// Defaults: the configured base model (else the first base model), the newest dataset.
    init(body: JSONValue, store: Store, defaultBaseModelID: String?, limits: JobLimits = JobLimits()) throws {
        guard case .object(let fields) = body else {
            throw ServiceError.invalid(field: nil, message: "The body must be a JSON object such as "
                + #"{"base_model": "...", "dataset": "...", "hyperparameters": {"epochs": 5}}."#)
        }
        for key in fields.keys.sorted() where !["base_model", "dataset", "hyperparameters"].contains(key) {
            throw ServiceError.invalid(field: key, message:
                "Unknown field '\(key)'; a job takes base_model, dataset and hyperparameters.")
        }
        baseModelID = try Self.resolveModel(fields["base_model"], store: store, defaultID: defaultBaseModelID)
        datasetID = try Self.resolveDataset(fields["dataset"], store: store)
        let spec: FineTuneSpec
        (spec, hyperparameters) = try Self.validateHyperparameters(fields["hyperparameters"])
        try Self.validate(spec, againstModel: baseModelID, dataset: try store.dataset(id: datasetID), store: store,
                          limits: limits)
    }

    /// Checks what needs the base model's manifest and the dataset's size: node names, and whether the run fits
    /// the limits — checked here, before a worker could run out of memory or fill the database.
    private static func validate(_ spec: FineTuneSpec, againstModel baseModelID: String, dataset: DatasetRecord,
                                 store: Store, limits: JobLimits) throws {
        let base = try store.model(id: baseModelID)
        let manifestURL = URL(fileURLWithPath: base.path).appendingPathComponent("model.json")
        let manifest: ModelManifest
        do {
            manifest = try ModelManifest.read(contentsOf: manifestURL)
        } catch {
            throw ServiceError.invalid(field: "base_model", message:
                "The base model '\(baseModelID)' cannot be read (\(error)); restart the service to refresh the catalog.")
        }
        let estimate: MemoryEstimate
        do {
            try spec.validate(against: manifest)
            estimate = try MemoryEstimate.estimate(manifest: manifest, spec: spec, classes: dataset.classCount,
                                                   images: dataset.imageCount)
        } catch let error as FineTuneError {
            throw ServiceError.invalid(field: error.field.map { "hyperparameters.\($0)" } ?? "hyperparameters",
                                       message: "hyperparameters.\(error.description)")
        } catch {
            throw ServiceError.invalid(field: "base_model", message:
                "The base model '\(baseModelID)' has a graph that cannot be sized (\(error)).")
        }
        // Every image may land in training (validation_fraction 0): the step count's upper bound.
        let stepsPerEpoch = (max(dataset.imageCount, 1) + spec.batchSize - 1) / spec.batchSize
        let (totalSteps, overflow) = stepsPerEpoch.multipliedReportingOverflow(by: spec.epochs)
        if overflow || totalSteps > limits.maxTotalSteps {
            throw ServiceError.invalid(field: "hyperparameters.epochs", message:
                "hyperparameters.epochs: \(spec.epochs) epochs of up to \(stepsPerEpoch) steps (\(dataset.imageCount) "
                + "images in batches of \(spec.batchSize)) exceed the limit of \(limits.maxTotalSteps) training steps "
                + "per job; lower epochs or raise batch_size.")
        }
        // Epoch rows are never thinned: they must leave at least half the row budget to the steps. A run that
        // may train below the head writes its linear probe's epochs too.
        let epochRows = JobLimits.rowsPerEpoch * spec.epochs * JobLimits.recordedPhases(spec)
        if epochRows > limits.maxMetricRows / 2 {
            throw ServiceError.invalid(field: "hyperparameters.epochs", message:
                "hyperparameters.epochs: \(spec.epochs) epochs would write \(epochRows) "
                + "epoch metric rows, more than half the limit of \(limits.maxMetricRows) metric rows per job; "
                + "lower epochs.")
        }
        if estimate.totalBytes > Double(limits.memoryBudgetBytes) {
            let field = estimate.dominantField
            throw ServiceError.invalid(field: "hyperparameters.\(field)", message:
                "hyperparameters.\(field): this job would need \(estimate.summary), more than the memory budget of "
                + "\(limits.memoryBudgetBytes >> 20) MiB per job (graft serve --job-memory-mib); lower \(field)"
                + (field == "batch_size" ? "" : " or batch_size") + ".")
        }
    }

    private static func resolveModel(_ value: JSONValue?, store: Store, defaultID: String?) throws -> String {
        switch value {
        case .string(let id)?:
            guard (try? store.model(id: id)) != nil else {
                throw ServiceError.invalid(field: "base_model", message:
                    "No model has the id '\(id)'; GET /models lists the models you can start from.")
            }
            return id
        case nil, .null?:
            if let defaultID, (try? store.model(id: defaultID)) != nil { return defaultID }
            guard let first = try store.listModels().first(where: { $0.kind == .base }) else {
                throw ServiceError.invalid(field: "base_model", message:
                    "No base model is installed; put one under Models/ and restart, or name a fine-tuned model.")
            }
            return first.id
        default:
            throw ServiceError.invalid(field: "base_model", message: "base_model must be a model id (a string).")
        }
    }

    private static func resolveDataset(_ value: JSONValue?, store: Store) throws -> String {
        switch value {
        case .string(let id)?:
            guard (try? store.dataset(id: id)) != nil else {
                throw ServiceError.invalid(field: "dataset", message:
                    "No dataset has the id '\(id)'; GET /datasets lists them, POST /datasets adds one.")
            }
            return id
        case nil, .null?:
            guard let newest = try store.listDatasets().first else {
                throw ServiceError.invalid(field: "dataset", message:
                    "No dataset has been uploaded yet; POST /datasets first, then name it here.")
            }
            return newest.id
        default:
            throw ServiceError.invalid(field: "dataset", message: "dataset must be a dataset id (a string).")
        }
    }

    /// Decodes the given hyperparameters into a `FineTuneSpec` (missing ones take defaults), validates it, and
    /// returns it as stored: every field, defaults filled in.
    private static func validateHyperparameters(_ value: JSONValue?) throws
        -> (spec: FineTuneSpec, resolved: [String: JSONValue])
    {
        var given: [String: JSONValue] = [:]
        switch value {
        case .object(let fields)?: given = fields.filter { $0.value != .null }
        case nil, .null?: break
        default:
            throw ServiceError.invalid(field: "hyperparameters", message: "hyperparameters must be a JSON object.")
        }
        let known = defaultHyperparameters.keys.sorted()
        for key in given.keys.sorted() where defaultHyperparameters[key] == nil {
            throw ServiceError.invalid(field: "hyperparameters.\(key)", message:
                "Unknown hyperparameter '\(key)'; known: \(known.joined(separator: ", ")).")
        }
        let spec: FineTuneSpec
        do {
            spec = try JSONDecoder().decode(FineTuneSpec.self, from: JSONEncoder().encode(JSONValue.object(given)))
            try spec.validate()
        } catch let error as DecodingError {
            var (path, problem) = describe(error)
            if path.isEmpty {
                // swift-corelibs' decoder reports some failures (2.5 for a whole number) without a coding path:
                // find the field by decoding the given ones one at a time.
                path = given.keys.sorted().first { key in
                    (try? JSONDecoder().decode(FineTuneSpec.self, from: JSONEncoder().encode(
                        JSONValue.object([key: given[key]!])))) == nil
                } ?? ""
                if let value = given[path] { problem = "\(value.text) is not a valid value of this field" }
            }
            let field = path.isEmpty ? "hyperparameters" : "hyperparameters.\(path)"
            let example = path.split(separator: ".").first.flatMap { defaultHyperparameters[String($0)] }
            throw ServiceError.invalid(field: field, message: "\(field): \(problem)"
                + (example.map { "; the default is \($0.text)." } ?? "."))
        } catch let error as FineTuneError {
            throw ServiceError.invalid(field: error.field.map { "hyperparameters.\($0)" } ?? "hyperparameters",
                                       message: "hyperparameters.\(error.description)")
        }
        guard case .object(let resolved) = try encode(spec) else { return (spec, given) }
        return (spec, resolved)
    }

    private static func encode(_ spec: FineTuneSpec) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(spec))
    }

    /// The dotted field path and a plain-words reason for a decoding failure.
    private static func describe(_ error: DecodingError) -> (path: String, problem: String) {
        func dotted(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return (dotted(context.codingPath), "expected \(readable(type)), got something else")
        case .valueNotFound(let type, let context):
            return (dotted(context.codingPath), "expected \(readable(type))")
        case .keyNotFound(let key, let context):
            return (dotted(context.codingPath + [key]), "is required")
        case .dataCorrupted(let context):
            return (dotted(context.codingPath), context.debugDescription)
        @unknown default:
            return ("", "\(error)")
        }
    }

    private static func readable(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: return "a whole number"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return "a value of type \(type)"
        }
    }
}
