// The OpenAPI description of the V2 (Open Inference Protocol) routes, kept apart from Graft's own routes.
extension OpenAPIDocument {
    /// The V2 error body: `{"error": "<message>"}`, the protocol's form (not Graft's error object).
    static let v2Error = json("Error", object(["error": string]))

    static let v2Tensor = object(["name": string, "datatype": string, "shape": array(integer),
                                  "parameters": object(["binary_data_size": integer])])

    static let v2Paths: [String: JSONValue] = {
        var paths: [String: JSONValue] = [
            "/v2": .object(["get": operation("V2 server metadata: name, version, extensions", responses: [
                "200": json("Server metadata", object(["name": string, "version": string, "extensions": array(string)])),
            ])]),
            "/v2/health/live": .object(["get": operation("V2 liveness", responses: [
                "200": json("Alive", object(["live": boolean])),
            ])]),
            "/v2/health/ready": .object(["get": operation("V2 readiness: the database is reachable", responses: [
                "200": json("Ready", object(["ready": boolean])), "503": json("Not ready", object(["ready": boolean])),
            ])]),
        ]
        for prefix in ["/v2/models/{name}", "/v2/models/{name}/versions/{version}"] {
            let parameters = prefix.contains("{version}") ? [path("name"), path("version")] : [path("name")]
            paths[prefix] = .object(["get": operation("V2 model metadata", description: """
                The model's inputs — 'input' (FP32 [-1, C, H, W], preprocessed as the model's input spec says) and \
                'image' (BYTES [-1], encoded JPEG or PNG); send one of them — and outputs 'logits' and \
                'probabilities' (FP32 [-1, classes]). A model's only version is 1.
                """, parameters: parameters, responses: [
                    "200": json("Model metadata", object(["name": string, "versions": array(string),
                                                          "platform": string, "inputs": array(v2Tensor),
                                                          "outputs": array(v2Tensor)])),
                    "404": v2Error,
                ])])
            paths[prefix + "/ready"] = .object(["get": operation("V2 model readiness", parameters: parameters,
                                                                 responses: [
                "200": json("Ready", object(["name": string, "ready": boolean])), "404": v2Error,
            ])])
            paths[prefix + "/infer"] = .object(["post": operation("V2 inference", description: """
                Open Inference Protocol infer request. JSON data flat or nested; BYTES elements in JSON are \
                base64 text. With the Inference-Header-Content-Length header, the body is that many bytes of JSON \
                followed by the inputs' binary data (parameters.binary_data_size: little-endian FP32, or BYTES \
                elements each after a 4-byte little-endian length). An output with parameters.binary_data (or the \
                request's binary_data_output) comes in the binary section; parameters.classification = k gives \
                the top k of each row as BYTES "score:index:label". The request id is echoed. Same token rule as \
                /predict. Body at most --v2-max-body-mib; at most 64 images per request.
                """, parameters: parameters + [header("Inference-Header-Content-Length",
                                                     "Bytes of JSON before the binary section")],
                bodyContent: [
                    "application/json": .object(["schema": object(["id": string, "inputs": array(v2Tensor),
                                                                   "outputs": array(object(["name": string])),
                                                                   "parameters": object([:])])]),
                    "application/octet-stream": .object(["schema": binary]),
                ], responses: [
                    "200": .object(["description": .string("Outputs; JSON, or JSON then binary data"),
                                    "content": .object([
                                        "application/json": .object(["schema": object([
                                            "model_name": string, "model_version": string, "id": string,
                                            "outputs": array(v2Tensor)])]),
                                        "application/octet-stream": .object(["schema": binary]),
                                    ])]),
                    "400": v2Error, "404": v2Error, "413": error, "415": v2Error,
                    "503": json("The decode memory budget is full; retry after Retry-After", object(["error": string])),
                ])])
        }
        return paths
    }()
}
