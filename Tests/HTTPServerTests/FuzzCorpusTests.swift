// Replays the committed fuzz seeds and crash regressions (bench/fuzz/) through the parser's invariants.
import Foundation
import Testing
@testable import HTTPServer

@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let inputs: [URL] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return ["bench/fuzz/corpus", "bench/fuzz/regressions"].flatMap { folder -> [URL] in
            let directory = root.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.sorted().map { directory.appendingPathComponent($0) }
        }
    }()

    @Test("the seed corpus is present")
    func corpusPresent() {
        #expect(Self.inputs.count >= 4)
    }

    @Test("each input parses the same whole and byte by byte, and never lets a dot segment through", arguments: inputs)
    func replay(_ url: URL) throws {
        let bytes = try [UInt8](Data(contentsOf: url))
        let limits = HTTPRequestParser.Limits(maxRequestLineLength: 200, maxHeaderBytes: 600, maxHeaderCount: 12)
        let whole = HTTPRequestParser.parse(bytes, limits: limits)
        var parser = HTTPRequestParser(limits: limits)
        var pieces = HTTPRequestParser.Result.needMore
        for end in 1...max(1, bytes.count) where pieces == .needMore && end <= bytes.count {
            pieces = bytes.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
        }
        #expect(whole == pieces)
        if case .complete(let head, _) = whole {
            #expect(!head.pathSegments.contains(".."))
        }
    }
}
