// The OpenAPI 3.1 description of every route, served at GET /openapi.json and checked against the router by tests.
import FineTuning
import Foundation
import Tensors

/// Builds the OpenAPI 3.1 document. Schemas list the fields the JSON bodies really have; tests compare both
/// the paths with the router's routes and the schemas with live responses.
enum OpenAPIDocument {
    static func make() -> JSONValue {
        // With GRAFT_API_TOKEN set, every route but the public ones needs the bearer token: optional in the
        // document ({} or bearer) because a server may run without one.
        var paths = paths.merging(v2Paths) { graft, _ in graft }
        for (path, item) in paths where !ServiceRoutes.publicPatterns.contains(path) {
            guard case .object(var operations) = item else { continue }
            for (method, operation) in operations {
                guard case .object(var fields) = operation, case .object(var responses)? = fields["responses"] else {
                    continue
                }
                responses["401"] = error
                fields["responses"] = .object(responses)
                fields["security"] = .array([.object([:]), .object(["bearer": .array([])])])
                if path == "/predict" || path.hasPrefix("/v2/models/") {
                    fields["description"] = .string("Needs the token when the server has one, unless it runs with "
                        + "--public-predict.")
                }
                operations[method] = .object(fields)
            }
            paths[path] = .object(operations)
        }
        return .object([
            "openapi": .string("3.1.0"),
            "info": .object([
                "title": .string("Graft"),
                "version": .string("0.1.0"),
                "description": .string("Fine-tune pretrained CNNs on your images and serve predictions."),
            ]),
            "components": .object([
                "schemas": .object(schemas),
                "securitySchemes": .object(["bearer": .object(["type": .string("http"), "scheme": .string("bearer")])]),
            ]),
            "paths": .object(paths),
        ])
    }

    // MARK: - Paths

    static let paths: [String: JSONValue] = [
        "/health": .object(["get": operation("Liveness", responses: ["200": json("Alive", object(["status": string]))])]),
        "/ready": .object(["get": operation("Readiness: database reachable, base models registered", responses: [
            "200": json("Ready", reference("Readiness")), "503": json("Not ready", reference("Error")),
        ])]),
        "/metrics": .object(["get": operation("Prometheus metrics", responses: [
            "200": .object(["description": .string("Prometheus text format"),
                            "content": .object(["text/plain": .object(["schema": string])])]),
        ])]),
        "/openapi.json": .object(["get": operation("This document", responses: ["200": json("OpenAPI 3.1", object([:]))])]),
        "/jobs": .object([
            "post": operation("Queue a fine-tuning job", description: """
                Strict JSON: a key given twice is a 400 (duplicate_key, field naming it). A value of the wrong JSON \
                type, out of range, or making a job that exceeds the limits (memory budget, training steps, metric \
                rows) is a 422 naming the field.
                """,
                              parameters: [header("Idempotency-Key", "Retries with the same key return the first job")],
                              body: reference("JobRequest"), responses: [
                "202": json("Queued", reference("Job")), "200": json("Replayed idempotent request", reference("Job")),
                "400": error, "401": error, "409": error, "415": error, "422": error,
            ]),
            "get": operation("List jobs, newest first", parameters: [
                query("status", "Only jobs in this state"), query("limit", "1–200, default 50"),
                query("offset", "Rows to skip"),
            ], responses: ["200": json("A page of jobs", reference("JobPage")), "422": error]),
        ]),
        "/jobs/{id}": .object([
            "get": operation("A job's status, progress, ETA and metrics", parameters: [path("id")],
                             responses: ["200": json("The job", reference("Job")), "404": error]),
            "delete": operation("Cancel a job", parameters: [path("id")], responses: [
                "200": json("Cancelled (it had not started)", reference("Job")),
                "202": json("Cancelling (stops after its current step)", reference("Job")),
                "401": error, "404": error, "409": error,
            ]),
        ]),
        "/jobs/{id}/metrics": .object(["get": operation("A job's metric series", parameters: [path("id")], responses: [
            "200": json("The series", object(["job_id": string, "metrics": array(reference("Metric")),
                                              "freeze_search": reference("FreezeSearch")])),
            "404": error,
        ])]),
        "/jobs/{id}/events": .object(["get": operation("Server-Sent Events until the job ends", parameters: [
            path("id"), header("Last-Event-ID", "Resume after this event id"),
        ], responses: [
            "200": .object(["description": .string("An event stream; each event's data is a JSON object"),
                            "content": .object(["text/event-stream": .object(["schema": string])])]),
            "404": error,
        ])]),
        "/predict": .object(["post": operation("Classify images: top-k labels and probabilities per image",
                                                parameters: [query("model", "Model id (raw image bodies)"),
                                                             query("top_k", "Labels per image, default 5")],
                                                bodyContent: [
                                                    "image/jpeg": .object(["schema": binary]),
                                                    "image/png": .object(["schema": binary]),
                                                    "application/json": .object(["schema": reference("PredictRequest")]),
                                                    "multipart/form-data": .object(["schema": object([
                                                        "model": string, "top_k": integer, "image": binary,
                                                    ])]),
                                                ], responses: [
            "200": json("Predictions, in the order of the images", reference("PredictResponse")),
            "400": error, "413": error, "415": error, "422": error,
            "503": json("The decode memory budget is full; retry after the Retry-After header's seconds", reference("Error")),
        ])]),
        "/models": .object([
            "get": operation("Base and fine-tuned models", responses: [
                "200": json("Models", object(["models": array(reference("Model"))])),
            ]),
            "post": operation("Import an ONNX image classifier as a base model", description: """
                The .onnx file as the body (application/octet-stream, options in the query) or the 'model' field of a \
                form with an optional 'labels' file (one class name per line) and the options as fields. The input \
                spec defaults to torchvision's evaluation transform; an operator, attribute or opset Graft does not \
                implement is a 422 naming the node, and nothing is kept.
                """, parameters: [
                    query("name", "The new model's id (1–64 letters, digits, '-', '_', '.')"),
                    query("size", "Input height and width when the file leaves them symbolic (default 224)"),
                    query("mean", "Per-channel mean, comma-separated (default ImageNet's)"),
                    query("std", "Per-channel standard deviation, comma-separated (default ImageNet's)"),
                    query("resize", "shorter_side_then_center_crop (default), stretch or none"),
                    query("crop_fraction", "The centred part kept, in (0, 1] (default 0.875)"),
                ], bodyContent: [
                    "application/octet-stream": .object(["schema": binary]),
                    "multipart/form-data": .object(["schema": object([
                        "model": binary, "labels": binary, "name": string, "size": integer, "mean": string,
                        "std": string, "resize": string, "crop_fraction": string,
                    ])]),
                ], responses: [
                    "201": json("The new base model with its input spec, head and layer summary", reference("ModelDetail")),
                    "400": error, "401": error, "409": error, "413": error, "415": error, "422": error, "507": error,
                ]),
        ]),
        "/models/{id}": .object([
            "get": operation("One model", parameters: [path("id")],
                             responses: ["200": json("The model with its input spec, head and layer summary",
                                                       reference("ModelDetail")), "404": error]),
            "delete": operation("Delete a fine-tuned or imported model (shipped base models cannot be deleted: 409)", parameters: [path("id")], responses: [
                "204": .object(["description": .string("Deleted")]), "401": error, "404": error, "409": error,
            ]),
        ]),
        "/models/{id}/export": .object(["get": operation("Download a model for other runtimes", description: """
            format=onnx (the default): an ONNX file, opset 13, dynamic batch, input 'input' (the normalised \
            N×C×H×W tensor), output 'logits', BatchNorm folded, the input spec, labels and head in its metadata \
            (graft.input, graft.labels, graft.head). format=safetensors: the model's weights file as stored. \
            Sent as an attachment named after the model.
            """, parameters: [path("id"), query("format", "onnx (default) or safetensors")], responses: [
            "200": .object(["description": .string("The file, with Content-Disposition: attachment"),
                            "content": .object(["application/octet-stream": .object(["schema": binary])])]),
            "400": error, "404": error, "422": error,
        ])]),
        "/datasets": .object([
            "post": operation("Upload a dataset archive, or name a folder under the data root",
                              parameters: [query("name", "A name for the dataset")],
                              bodyContent: [
                                  "application/zip": .object(["schema": binary]),
                                  "application/gzip": .object(["schema": binary]),
                                  "application/x-tar": .object(["schema": binary]),
                                  "application/json": .object(["schema": object(["folder": string, "name": string])]),
                              ], responses: [
                "201": json("Registered, with its validation report", reference("Dataset")),
                "400": error, "401": error, "413": error, "415": error, "422": error,
                // the expanded archive does not fit on the data disk (checked first), or the disk filled up
                "507": error,
            ]),
            "get": operation("Datasets", responses: [
                "200": json("Datasets", object(["datasets": array(reference("Dataset"))])),
            ]),
        ]),
        "/datasets/{id}": .object([
            "get": operation("One dataset", parameters: [path("id")],
                             responses: ["200": json("The dataset", reference("Dataset")), "404": error]),
            "delete": operation("Delete a dataset no unfinished job uses", parameters: [path("id")],
                                responses: ["204": .object(["description": .string("Deleted")]), "401": error,
                                            "404": error, "409": error]),
        ]),
    ]

    // MARK: - Schemas

    static let schemas: [String: JSONValue] = [
        "Error": object(["error": object(["code": string, "message": string, "field": string])]),
        "Readiness": object(["status": string, "database": string, "base_models": integer, "workers": integer]),
        "JobRequest": object([
            "base_model": string, "dataset": string,
            "hyperparameters": object(JobRequest.defaultHyperparameters.mapValues { value in
                switch value {
                case .number(let number) where number.rounded() == number:
                    return .object(["type": .string("integer"), "default": value])
                case .number: return .object(["type": .string("number"), "default": value])
                case .bool: return .object(["type": .string("boolean"), "default": value])
                case .string: return .object(["type": .string("string"), "default": value])
                default: return .object(["default": value])
                }
            }.merging(hyperparameterBounds) { schema, bounds in
                guard case .object(var fields) = schema, case .object(let extra) = bounds else { return schema }
                fields.merge(extra) { $1 }
                return .object(fields)
            }),
        ]),
        "Job": object([
            "id": string, "status": .object(["type": .string("string"),
                                             "enum": .array(JobStatus.allCases.map { .string($0.rawValue) })]),
            "base_model_id": string, "dataset_id": string, "spec": object([:]), "attempt": integer,
            "progress": object(["epoch": integer, "total_epochs": integer, "step": integer, "total_steps": integer,
                                "fraction_done": number, "eta_seconds": number]),
            "latest_metrics": object([:]), "best_metrics": object([:]), "error": string, "result_model_id": string,
            "freeze_search": reference("FreezeSearch"), "created_at": timestamp, "started_at": timestamp, "finished_at": timestamp, "updated_at": timestamp,
        ]),
        // `"freeze": "auto"`: a linear probe (`backbone`), each stage boundary of the base graph (`{"until": node}`)
        // and `none`, scored on the validation split by successive halving; null for other jobs.
        "FreezeSearch": object([
            "candidates": array(object([
                "policy": object([:]), "trainable_parameter_count": integer, "rounds": integer, "epochs": integer,
                "validation_accuracy": number, "validation_loss": number, "seconds": number,
                "outcome": .object(["type": .string("string"), "enum": .array(
                    ["chosen", "outscored", "eliminated", "diverged", "failed", "skipped"].map { .string($0) })]),
                "note": string,
            ])),
            "chosen": object([:]), "reason": string, "budget_epochs": integer, "spent_epochs": integer,
            "rounds": integer, "seconds": number,
        ]),
        "JobPage": object(["items": array(reference("Job")), "limit": integer, "offset": integer,
                           "next_offset": integer]),
        "Metric": object(["scope": string, "epoch": integer, "step": integer, "name": string, "value": number,
                          "recorded_at": timestamp]),
        "Model": object(["id": string, "name": string, "kind": string, "labels": array(string),
                         "weights_sha256": string, "provenance": object([:]), "metrics": object([:]),
                         "parent_model_id": string, "created_at": timestamp]),
        "ModelDetail": object(["id": string, "name": string, "kind": string, "labels": array(string),
                               "weights_sha256": string, "provenance": object([:]), "metrics": object([:]),
                               "parent_model_id": string, "created_at": timestamp,
                               "input": object(["channels": integer, "height": integer, "width": integer,
                                                "resize": .object(["type": .string("string"), "enum": .array(
                                                    ResizePolicy.allCases.map { .string($0.rawValue) })]),
                                                "mean": array(number), "std": array(number),
                                                "crop_fraction": number, "fast_jpeg": boolean]),
                               "head": string,
                               "layers": array(object(["node": string, "op": string, "inputs": array(string),
                                                       "output_shape": array(integer), "parameters": integer])),
                               "total_parameters": integer, "total_buffers": integer,
                               "architecture_error": string]),
        "PredictRequest": object(["model": string, "images": array(binary), "top_k": integer]),
        "PredictResponse": object(["model_id": string, "predictions": array(object([
            "labels": array(object(["label": string, "probability": number])),
        ]))]),
        "Dataset": object(["id": string, "name": string, "source": string, "class_count": integer,
                           "image_count": integer, "labels": array(string), "report": object([:]),
                           "created_at": timestamp]),
    ]

    // MARK: - Building blocks

    /// The ranges `FineTuneSpec.validate()` enforces, as JSON Schema bounds.
    static let hyperparameterBounds: [String: JSONValue] = {
        typealias Limits = FineTuneSpec.Limits
        func range(_ low: Double, _ high: Double) -> JSONValue {
            .object(["minimum": .number(low), "maximum": .number(high)])
        }
        return [
            "epochs": range(1, Double(Limits.epochs)), "batch_size": range(1, Double(Limits.batchSize)),
            "head_hidden": range(1, Double(Limits.headHidden)), "top_k": range(1, Double(Limits.topK)),
            "learning_rate": range(Limits.learningRate.lowerBound, Limits.learningRate.upperBound),
            "weight_decay": range(Limits.weightDecay.lowerBound, Limits.weightDecay.upperBound),
            "time_limit_seconds": range(0, Limits.timeLimitSeconds),
            "search_budget": range(0, Double(Limits.epochs)), "warmup_epochs": range(0, Double(Limits.epochs)),
            "divergence_patience": range(0, Double(Limits.epochs)), "body_learning_rate_scale": range(1e-10, 1),
        ]
    }()

    static let string = JSONValue.object(["type": .string("string")])
    static let integer = JSONValue.object(["type": .string("integer")])
    static let number = JSONValue.object(["type": .string("number")])
    static let boolean = JSONValue.object(["type": .string("boolean")])
    static let binary = JSONValue.object(["type": .string("string"), "contentEncoding": .string("binary")])
    static let timestamp = JSONValue.object(["type": .string("string"), "format": .string("date-time")])
    static let error = json("Error", reference("Error"))

    static func object(_ properties: [String: JSONValue]) -> JSONValue {
        .object(["type": .string("object"), "properties": .object(properties)])
    }

    static func array(_ items: JSONValue) -> JSONValue { .object(["type": .string("array"), "items": items]) }

    static func reference(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }

    static func json(_ description: String, _ schema: JSONValue) -> JSONValue {
        .object(["description": .string(description),
                 "content": .object(["application/json": .object(["schema": schema])])])
    }

    static func path(_ name: String) -> JSONValue {
        .object(["name": .string(name), "in": .string("path"), "required": .bool(true), "schema": string])
    }

    static func query(_ name: String, _ description: String) -> JSONValue {
        .object(["name": .string(name), "in": .string("query"), "description": .string(description), "schema": string])
    }

    static func header(_ name: String, _ description: String) -> JSONValue {
        .object(["name": .string(name), "in": .string("header"), "description": .string(description), "schema": string])
    }

    static func operation(_ summary: String, description: String? = nil, parameters: [JSONValue] = [],
                          body: JSONValue? = nil, bodyContent: [String: JSONValue]? = nil,
                          responses: [String: JSONValue]) -> JSONValue {
        var fields: [String: JSONValue] = ["summary": .string(summary), "responses": .object(responses)]
        if let description { fields["description"] = .string(description) }
        if !parameters.isEmpty { fields["parameters"] = .array(parameters) }
        if let body {
            fields["requestBody"] = .object(["content": .object(["application/json": .object(["schema": body])])])
        }
        if let bodyContent { fields["requestBody"] = .object(["required": .bool(true), "content": .object(bodyContent)]) }
        return .object(fields)
    }
}
