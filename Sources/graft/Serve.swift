import ArgumentParser

/// `graft serve`: starts the HTTP service (placeholder until the service lands).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the Graft HTTP service.")

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080

    func run() throws {
        print("graft serve: the HTTP service is not built yet (see issue 6); would listen on \(host):\(port)")
    }
}
