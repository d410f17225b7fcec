// Serves GET /health → "ok" with Graft's HTTPServer on the port given as the first argument (default 8082).
import Foundation
import HTTPServer
import Logging

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8082 : 8082
var logger = Logger(label: "http-bench")
logger.logLevel = .warning  // no access log: the Hummingbird app it is compared with has none either
let router = Router()
router.get("/health") { _ in .text("ok") }
var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: port)
configuration.maxConnections = 2048
configuration.maxConnectionsPerClient = 2048  // wrk is one client holding 512 connections
let server = HTTPServer(configuration: configuration, router: router, logger: logger)
server.stopOnTerminationSignals(gracePeriod: 2)
try server.run()
