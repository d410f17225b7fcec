// `graft export onnx` refuses to overwrite a file without --force, and a folder as --out, before any work starts.
import ArgumentParser
import Foundation
import Testing
@testable import graft

@Suite struct ExportCommandTests {
    @Test func anExistingOutputNeedsForceAndAFolderIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-export-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let existing = folder.appendingPathComponent("model.onnx")
        try Data("old".utf8).write(to: existing)

        #expect(throws: (any Error).self) { _ = try Export.ONNX.parse(["m", "--out", existing.path]) }
        do {
            _ = try Export.ONNX.parse(["m", "--out", existing.path])
        } catch {
            #expect(Export.ONNX.message(for: error).contains("pass --force to replace it"))
        }
        #expect(try Export.ONNX.parse(["m", "--out", existing.path, "--force"]).force)
        #expect(try Export.ONNX.parse(["m", "--out", folder.appendingPathComponent("new.onnx").path]).model == "m")
        do {
            _ = try Export.ONNX.parse(["m", "--out", folder.path, "--force"])
            Issue.record("a folder as --out was accepted")
        } catch {
            #expect(Export.ONNX.message(for: error).contains("is a folder"))
        }
        #expect(try String(contentsOf: existing, encoding: .utf8) == "old", "nothing was written")
    }
}
