// SHA-256 against the FIPS 180-4 example vectors and against Debian's sha256sum.
import Foundation
import Testing
import NeuralNetwork

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func knownVectors(input: String, expected: String) {
        #expect(SHA256.hexDigest(of: Array(input.utf8)) == expected)
    }

    @Test func oneMillionAs() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(hasher.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Every length around the block and padding boundaries, fed in uneven pieces, matches one-shot hashing,
    /// and the file helper matches `sha256sum` from coreutils.
    @Test func incrementalMatchesOneShotAndCoreutils() throws {
        var bytes: [UInt8] = []
        var state: UInt32 = 12345
        for _ in 0..<300 {
            state = state &* 1_103_515_245 &+ 12345
            bytes.append(UInt8(truncatingIfNeeded: state >> 16))
        }
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200, 300] {
            let data = Array(bytes.prefix(length))
            var hasher = SHA256()
            var index = 0
            var piece = 1
            while index < data.count {
                let end = min(data.count, index + piece)
                hasher.update(data[index..<end])
                index = end
                piece = piece * 3 % 70 + 1
            }
            #expect(hasher.finalizeHex() == SHA256.hexDigest(of: data), "length \(length)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sha256-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bytes.bin")
        try Data(bytes).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(String(output.prefix(64)) == (try SHA256.hexDigest(ofFileAt: file)))
    }
}
