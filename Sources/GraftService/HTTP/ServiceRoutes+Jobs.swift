// The job routes: submit (with Idempotency-Key), list, show, metrics, Server-Sent Events, cancel.
import Foundation
import NeuralNetwork
import HTTPServer

extension ServiceRoutes {
    func registerJobRoutes(on router: Router) {
        router.post("/jobs", maxBodySize: 64 * 1024) { request in try submitJob(request) }
        router.get("/jobs") { request in try listJobs(request) }
        router.get("/jobs/:id") { request in
            let id = try request.pathParameter("id")
            return try Response.json(JobBody(try service.store.job(id: id), metrics: try service.store.metrics(jobID: id),
                                             freezeSearch: try service.store.latestEvent(jobID: id, kind: "freeze_search")))
        }
        router.get("/jobs/:id/metrics") { request in
            let id = try request.pathParameter("id")
            struct Series: Encodable {
                var jobId: String
                var metrics: [MetricBody]
                /// As in `GET /jobs/:id`: the freeze search's candidates and choice, nil without one.
                var freezeSearch: JSONValue?
            }
            let search = try service.store.latestEvent(jobID: id, kind: "freeze_search")
            return try Response.json(Series(jobId: id, metrics: try service.store.metrics(jobID: id).map(MetricBody.init),
                                            freezeSearch: search.map { JSONValue(parsing: $0.dataJSON) }))
        }
        router.get("/jobs/:id/events") { request in try jobEvents(request) }
        router.delete("/jobs/:id") { request in
            let job = try service.store.requestCancellation(jobID: try request.pathParameter("id"))
            return try Response.json(JobBody(job), status: job.status == .cancelled ? .ok : .accepted)
        }
    }

    private func submitJob(_ request: Request) throws -> Response {
        let body = try Self.jsonBody(request)
        let key = request.headers["Idempotency-Key"]
        if let key, key.isEmpty || key.count > 255 {
            throw ServiceError.invalid(field: "Idempotency-Key", message:
                "The Idempotency-Key header must be 1 to 255 characters.")
        }
        let job = try JobRequest(body: body, store: service.store, defaultBaseModelID: defaultBaseModelID,
                                 limits: service.configuration.jobLimits)
        // The key guards the request as sent (canonical JSON), not its resolved defaults.
        let submission = JobSubmission(specJSON: job.specJSON, baseModelID: job.baseModelID, datasetID: job.datasetID,
                                       idempotencyKey: key, requestHash: SHA256.hexDigest(of: Array(body.text.utf8)))
        let (record, created) = try service.submitJob(submission)
        var response = try Response.json(JobBody(record), status: created ? .accepted : .ok)
        response.headers.add(name: "Location", value: "/jobs/\(record.id)")
        return response
    }

    private func listJobs(_ request: Request) throws -> Response {
        var status: JobStatus?
        if let text = request.queryParameters["status"] {
            guard let parsed = JobStatus(rawValue: text) else {
                throw ServiceError.invalid(field: "status", message: "status must be one of "
                    + JobStatus.allCases.map(\.rawValue).joined(separator: ", ") + "; got '\(text)'.")
            }
            status = parsed
        }
        let limit = try Self.integerQuery(request, "limit", default: 50, range: 1...200)
        let offset = try Self.integerQuery(request, "offset", default: 0, range: 0...Int(Int32.max))
        // One extra row tells whether there is a next page.
        let rows = try service.store.listJobs(status: status, limit: limit + 1, offset: offset)
        let page = PageBody(items: rows.prefix(limit).map { JobBody($0) }, limit: limit, offset: offset,
                            nextOffset: rows.count > limit ? offset + limit : nil)
        return try Response.json(page)
    }

    /// Streams the job's events as Server-Sent Events until the job has ended and every event was sent.
    /// Resumes after the `Last-Event-ID` a reconnecting client sends.
    private func jobEvents(_ request: Request) throws -> Response {
        let id = try request.pathParameter("id")
        _ = try service.store.job(id: id)   // 404 before the stream starts
        let resumeAfter = Int64(request.headers["Last-Event-ID"] ?? "") ?? 0
        let store = service.store
        return Response.serverSentEvents { stream in
            var lastID = resumeAfter
            var idleRounds = 0
            while stream.isClientConnected && !stream.isServerStopping {
                // Read the status before the events, so the last events of a finished job are never missed.
                let finished = try store.job(id: id).status.isTerminal
                let events = try store.events(jobID: id, afterID: lastID)
                for event in events {
                    let data = JSONValue.object([
                        "kind": .string(event.kind), "message": .string(event.message),
                        "data": JSONValue(parsing: event.dataJSON),
                        "created_at": .string(Timestamp.string(from: event.createdAt)),
                    ])
                    try stream.send(data: data.text, event: event.kind, id: String(event.id))
                    lastID = event.id
                }
                if finished && events.isEmpty { return }
                idleRounds = events.isEmpty ? idleRounds + 1 : 0
                if idleRounds >= 60 {   // about 15 s without events: a comment keeps proxies from closing
                    try stream.comment("keep-alive")
                    idleRounds = 0
                }
                Thread.sleep(forTimeInterval: 0.25)
            }
        }
    }
}
