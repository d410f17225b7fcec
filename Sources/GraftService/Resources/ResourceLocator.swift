// Finds the `Migrations/` and `Models/` folders whether graft runs via `swift run`, from the build folder or in Docker.
import Foundation

/// Finds a top-level resource folder (`Migrations`, `Models`) of the Graft checkout or install.
///
/// Tries, in order: the `GRAFT_RESOURCES` setting or environment variable (a folder holding them), the current
/// directory, then the executable's folder and each of its ancestors — so `swift run` (cwd is the package),
/// `.build/release/graft` started from anywhere (the package is an ancestor) and an image that installs the
/// folders beside or above the binary all work.
public struct ResourceLocator: Sendable {
    /// The environment variable naming the folder that holds `Migrations/` and `Models/`.
    public static let environmentKey = "GRAFT_RESOURCES"

    public var explicitRoot: URL?
    public var currentDirectory: URL
    public var executableURL: URL?

    /// - Parameters:
    ///   - explicitRoot: a configured folder; when nil, `GRAFT_RESOURCES` from `environment` is used if set.
    public init(explicitRoot: URL? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                executableURL: URL? = Bundle.main.executableURL) {
        self.explicitRoot = explicitRoot
            ?? environment[Self.environmentKey].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
        self.currentDirectory = currentDirectory
        self.executableURL = executableURL?.resolvingSymlinksInPath()
    }

    /// The folders searched, in order.
    public var candidateRoots: [URL] {
        var roots: [URL] = []
        if let explicitRoot { roots.append(explicitRoot) }
        roots.append(currentDirectory)
        if let executableURL {
            var folder = executableURL.deletingLastPathComponent()
            while true {
                roots.append(folder)
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path || folder.path == "/" { break }
                folder = parent
            }
        }
        return roots
    }

    /// The first `<root>/<name>` folder that exists.
    ///
    /// An explicit root is authoritative: when it is set and lacks `name`, this throws rather than silently
    /// using another copy. Otherwise the error lists every place it looked.
    public func locate(_ name: String) throws -> URL {
        if let explicitRoot {
            let folder = explicitRoot.appendingPathComponent(name)
            guard isDirectory(folder) else {
                throw ServiceError.storage(message:
                    "\(Self.environmentKey) is \(explicitRoot.path), but it has no \(name)/ folder; point it at the "
                    + "folder that holds Migrations/ and Models/.")
            }
            return folder
        }
        for root in candidateRoots {
            let folder = root.appendingPathComponent(name)
            if isDirectory(folder) { return folder }
        }
        let looked = candidateRoots.map { $0.appendingPathComponent(name).path }.joined(separator: ", ")
        throw ServiceError.storage(message:
            "Cannot find the \(name)/ folder (looked in \(looked)). Start graft from the repository, or set "
            + "\(Self.environmentKey) to the folder that holds Migrations/ and Models/.")
    }

    private func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
