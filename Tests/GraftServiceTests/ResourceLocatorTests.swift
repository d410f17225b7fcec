// The resource locator finds Migrations/ and Models/ via the setting, the current directory or the binary's ancestors.
import Foundation
import Testing
@testable import GraftService

@Suite struct ResourceLocatorTests {
    func makeTree() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for folder in ["checkout/Migrations", "checkout/.build/release", "image/Migrations", "elsewhere"] {
            try FileManager.default.createDirectory(at: directory.path(folder), withIntermediateDirectories: true)
        }
        return directory
    }

    @Test func environmentSettingWins() throws {
        let tree = try makeTree()
        let locator = ResourceLocator(environment: ["GRAFT_RESOURCES": tree.path("image").path],
                                      currentDirectory: tree.path("checkout"),
                                      executableURL: tree.path("checkout/.build/release/graft"))
        #expect(try locator.locate("Migrations").standardizedFileURL == tree.path("image/Migrations").standardizedFileURL)
        // An explicit root without the folder is an error, not a silent fallback to another copy.
        #expect(throws: ServiceError.self) { try locator.locate("Models") }
    }

    @Test func currentDirectoryThenExecutableAncestors() throws {
        let tree = try makeTree()
        let fromCheckout = ResourceLocator(environment: [:], currentDirectory: tree.path("checkout"),
                                           executableURL: nil)
        #expect(try fromCheckout.locate("Migrations").path == tree.path("checkout/Migrations").path)
        // Started from elsewhere: found above the binary in the build folder.
        let fromBuild = ResourceLocator(environment: [:], currentDirectory: tree.path("elsewhere"),
                                        executableURL: tree.path("checkout/.build/release/graft"))
        #expect(try fromBuild.locate("Migrations").standardizedFileURL.path
                == tree.path("checkout/Migrations").standardizedFileURL.path)
    }

    @Test func missingFolderErrorListsWhereItLooked() throws {
        let tree = try makeTree()
        let locator = ResourceLocator(environment: [:], currentDirectory: tree.path("elsewhere"), executableURL: nil)
        do {
            _ = try locator.locate("Models")
            Issue.record("a missing folder was found")
        } catch let error as ServiceError {
            #expect(error.message.contains(tree.path("elsewhere/Models").path))
            #expect(error.message.contains("GRAFT_RESOURCES"))
        }
    }
}
