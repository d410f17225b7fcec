// The real `graft` binary's model arguments: a base model by name from anywhere, and a clear error for an unknown one.
import Foundation
import Testing
@testable import GraftService

@Suite struct CommandLineTests {
    /// Runs `graft` with `arguments` in `directory`; returns the exit status and stdout + stderr.
    static func graft(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws
        -> (status: Int32, output: String)
    {
        guard let executable = GraftProcess.executable else {
            throw ServiceError.invalid(field: nil, message: "no 'graft' executable beside the test bundle")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test(.enabled(if: GraftProcess.executable != nil, "no 'graft' executable beside the test bundle"))
    func baseModelsAreNamedFromAnywhere() throws {
        let directory = try TemporaryDirectory()
        let zip = try DatasetRouteTests.sampleZip(perClass: 1, in: directory)
        let heldOut = zip.deletingLastPathComponent().appendingPathComponent("fashion-5-9-heldout")
        let image = try #require(FileManager.default.subpathsOfDirectory(atPath: heldOut.path)
            .filter { $0.hasSuffix(".png") }.sorted().first.map { heldOut.appendingPathComponent($0) })
        let resources = TestSupport.repositoryMigrations.deletingLastPathComponent().path
        // from a folder outside the checkout, the committed default model by name
        let named = try Self.graft(["predict", "fmnist-resnet8", image.path, "--top-k", "2"], in: directory.url,
                                   environment: ["GRAFT_RESOURCES": resources])
        #expect(named.status == 0, "\(named.output)")
        let labels = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
        #expect(named.output.hasPrefix(image.path + ": "), "\(named.output)")
        #expect(labels.contains { named.output.contains($0) }, "\(named.output)")
        // the same model by path gives the same answer
        let byPath = try Self.graft(["predict", resources + "/Models/fmnist-resnet8", image.path, "--top-k", "2"],
                                    in: directory.url)
        #expect(byPath.output == named.output)

        // an image that is not one: the good image is still classified, the bad one named, and the status fails
        let bogus = directory.url.appendingPathComponent("not-an-image.jpg")
        try Data("GIF89a, not a JPEG at all".utf8).write(to: bogus)
        let mixed = try Self.graft(["predict", "fmnist-resnet8", image.path, bogus.path], in: directory.url,
                                   environment: ["GRAFT_RESOURCES": resources])
        #expect(mixed.status != 0)
        #expect(mixed.output.contains(image.path + ": ") && mixed.output.contains("not-an-image.jpg"), "\(mixed.output)")
        #expect(mixed.output.contains("only JPEG and PNG") && mixed.output.contains("1 of 2 images"), "\(mixed.output)")

        // the options the README names are the ones the binary takes
        let help = try Self.graft(["serve", "--help"], in: directory.url)
        #expect(help.output.contains("--max-upload-mib") && help.output.contains("--model-cache-mib"), "\(help.output)")
        #expect(help.output.contains("--job-memory-mib"), "\(help.output)")
        let badBudget = try Self.graft(["serve", "--job-memory-mib", "10"], in: directory.url)
        #expect(badBudget.status != 0 && badBudget.output.contains("--job-memory-mib must be at least 256"))
        let badCache = try Self.graft(["serve", "--model-cache-mib", "0"], in: directory.url)
        #expect(badCache.status != 0 && badCache.output.contains("--model-cache-mib must be at least 1"), "\(badCache.output)")

        let unknown = try Self.graft(["predict", "no-such-model", image.path], in: directory.url,
                                     environment: ["GRAFT_RESOURCES": resources])
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("no model 'no-such-model'") && unknown.output.contains("fmnist-resnet8"),
                "the error lists the base models there are: \(unknown.output)")
    }
}
