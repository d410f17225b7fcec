// Resolves the model a command names: a folder path, or the name of a base model under Models/.
import ArgumentParser
import Foundation
import GraftService

/// The folder of the model a command line names: an existing folder (or its model.json) as given, otherwise a
/// folder of that name under the `Models/` folder the service uses (so `graft predict efficientnet-lite0 x.jpg`
/// works from anywhere in the checkout, or with `GRAFT_RESOURCES` set).
func modelFolder(_ argument: String) throws -> URL {
    var url = URL(fileURLWithPath: argument)
    if url.lastPathComponent == "model.json" { url.deleteLastPathComponent() }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue { return url }
    guard !argument.contains("/"), let models = try? ResourceLocator().locate("Models") else {
        throw CommandError("no model folder at \(url.path): give a folder holding model.json and weights.safetensors, "
            + "or the name of a base model under Models/")
    }
    let named = models.appendingPathComponent(argument)
    if FileManager.default.fileExists(atPath: named.appendingPathComponent("model.json").path) { return named }
    let available = ((try? FileManager.default.contentsOfDirectory(atPath: models.path)) ?? [])
        .filter { FileManager.default.fileExists(atPath: models.appendingPathComponent($0 + "/model.json").path) }
        .sorted()
    throw CommandError("no model '\(argument)': not a folder here, nor under \(models.path) "
        + "(base models there: \(available.joined(separator: ", ")))")
}

/// A failure of a command's own work (not of its arguments' syntax): printed as `Error: …` without the usage text.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
