// POST /jobs: decodes and validates the body into a job specification, filling defaults.
import Foundation

/// A validated job request: the base model, the dataset and every hyperparameter, defaults filled in.
///
/// Body: `{"base_model": id, "dataset": id, "hyperparameters": {...}}`, every part optional. Unknown keys and
/// out-of-range values are 422 errors naming the field, so typos do not silently train with defaults.
struct JobRequest {
    /// One hyperparameter: its type, range and default.
    struct Hyperparameter {
        enum Kind {
            case integer(ClosedRange<Int>)
            case number(ClosedRange<Double>, excludingLowerBound: Bool)
            case choice([String])
            case flag
        }

        var name: String
        var kind: Kind
        var defaultValue: JSONValue
    }

    static let hyperparameters: [Hyperparameter] = [
        Hyperparameter(name: "epochs", kind: .integer(1...1000), defaultValue: .number(5)),
        Hyperparameter(name: "batch_size", kind: .integer(1...1024), defaultValue: .number(32)),
        Hyperparameter(name: "learning_rate", kind: .number(0...10, excludingLowerBound: true),
                       defaultValue: .number(0.001)),
        Hyperparameter(name: "weight_decay", kind: .number(0...1, excludingLowerBound: false), defaultValue: .number(0)),
        Hyperparameter(name: "optimizer", kind: .choice(["adam", "adamw", "sgd"]), defaultValue: .string("adam")),
        Hyperparameter(name: "validation_fraction", kind: .number(0...0.9, excludingLowerBound: true),
                       defaultValue: .number(0.2)),
        Hyperparameter(name: "augment", kind: .flag, defaultValue: .bool(true)),
        Hyperparameter(name: "seed", kind: .integer(0...Int(Int32.max)), defaultValue: .number(0)),
    ]

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

    /// Validates `body` (already parsed) against the store's models and datasets.
    ///
    /// Defaults: the configured base model (else the first base model), the newest dataset.
    init(body: JSONValue, store: Store, defaultBaseModelID: String?) throws {
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
        hyperparameters = try Self.validateHyperparameters(fields["hyperparameters"])
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

    private static func validateHyperparameters(_ value: JSONValue?) throws -> [String: JSONValue] {
        var given: [String: JSONValue] = [:]
        switch value {
        case .object(let fields)?: given = fields
        case nil, .null?: break
        default:
            throw ServiceError.invalid(field: "hyperparameters", message: "hyperparameters must be a JSON object.")
        }
        let known = Set(hyperparameters.map(\.name))
        for key in given.keys.sorted() where !known.contains(key) {
            throw ServiceError.invalid(field: "hyperparameters.\(key)", message:
                "Unknown hyperparameter '\(key)'; known: \(hyperparameters.map(\.name).joined(separator: ", ")).")
        }
        var resolved: [String: JSONValue] = [:]
        for parameter in hyperparameters {
            guard let value = given[parameter.name], value != .null else {
                resolved[parameter.name] = parameter.defaultValue
                continue
            }
            resolved[parameter.name] = try check(value, against: parameter)
        }
        return resolved
    }

    private static func check(_ value: JSONValue, against parameter: Hyperparameter) throws -> JSONValue {
        let field = "hyperparameters.\(parameter.name)"
        switch (parameter.kind, value) {
        case (.integer(let range), .number(let number)):
            guard number.rounded() == number, let integer = Int(exactly: number), range.contains(integer) else {
                throw ServiceError.invalid(field: field, message:
                    "\(parameter.name) must be a whole number from \(range.lowerBound) to \(range.upperBound); got \(number).")
            }
            return value
        case (.number(let range, let excludingLowerBound), .number(let number)):
            guard range.contains(number), !(excludingLowerBound && number == range.lowerBound) else {
                let lower = excludingLowerBound ? "greater than \(range.lowerBound)" : "at least \(range.lowerBound)"
                throw ServiceError.invalid(field: field, message:
                    "\(parameter.name) must be \(lower) and at most \(range.upperBound); got \(number).")
            }
            return value
        case (.choice(let choices), .string(let text)):
            guard choices.contains(text) else {
                throw ServiceError.invalid(field: field, message:
                    "\(parameter.name) must be one of \(choices.joined(separator: ", ")); got '\(text)'.")
            }
            return value
        case (.flag, .bool):
            return value
        default:
            let expected: String
            switch parameter.kind {
            case .integer: expected = "a whole number"
            case .number: expected = "a number"
            case .choice(let choices): expected = "one of \(choices.joined(separator: ", "))"
            case .flag: expected = "true or false"
            }
            throw ServiceError.invalid(field: field, message: "\(parameter.name) must be \(expected).")
        }
    }
}
