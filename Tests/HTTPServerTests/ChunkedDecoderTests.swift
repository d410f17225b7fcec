// Table tests of the chunked-body decoder, fed whole and byte by byte.
import Foundation
import Testing
@testable import HTTPServer

struct ChunkedCase: CustomTestStringConvertible, Sendable {
    var input: String
    /// The decoded body, or nil when the input is invalid.
    var body: String?
    var code: String?
    var trailers: [String] = []
    var rest = ""  // bytes after the body, which must not be consumed

    var testDescription: String { input.prefix(40).replacingOccurrences(of: "\r\n", with: "⏎") }
}

let chunkedCases: [ChunkedCase] = [
    ChunkedCase(input: "0\r\n\r\n", body: ""),
    ChunkedCase(input: "5\r\nhello\r\n0\r\n\r\n", body: "hello", rest: "GET / HTTP/1.1\r\n"),
    ChunkedCase(input: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", body: "hello world"),
    ChunkedCase(input: "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", body: "0123456789abcdefghij"),
    ChunkedCase(input: "5;ext=1;flag\r\nhello\r\n0;last\r\n\r\n", body: "hello"),
    ChunkedCase(input: "5 ;ext\r\nhello\r\n0\r\n\r\n", body: "hello"),
    ChunkedCase(input: "005\r\nhello\r\n0\r\nX-A: 1\r\nX-B:two \r\n\r\n", body: "hello", trailers: ["X-A=1", "X-B=two"]),
    ChunkedCase(input: "zz\r\nhello\r\n0\r\n\r\n", body: nil, code: "invalid_chunk_size"),
    ChunkedCase(input: "\r\nhello\r\n0\r\n\r\n", body: nil, code: "invalid_chunk_size"),
    ChunkedCase(input: "-5\r\nhello\r\n0\r\n\r\n", body: nil, code: "invalid_chunk_size"),
    ChunkedCase(input: "5x\r\nhello\r\n0\r\n\r\n", body: nil, code: "invalid_chunk_size"),
    ChunkedCase(input: "5\nhello\r\n0\r\n\r\n", body: nil, code: "invalid_chunk_size"),
    ChunkedCase(input: "5\r\nhelloXY0\r\n\r\n", body: nil, code: "missing_chunk_crlf"),
    ChunkedCase(input: "5\r\nhello\rX", body: nil, code: "missing_chunk_crlf"),
    ChunkedCase(input: "1000000000000000\r\n", body: nil, code: "chunk_size_overflow"),
    ChunkedCase(input: "ffffffffffffffff\r\n", body: nil, code: "chunk_size_overflow"),
    ChunkedCase(input: "5;" + String(repeating: "e", count: 2000) + "\r\nhello\r\n0\r\n\r\n", body: nil, code: "chunk_line_too_long"),
    ChunkedCase(input: "5;a\u{01}\r\nhello\r\n0\r\n\r\n", body: nil, code: "invalid_chunk_extension"),
    ChunkedCase(input: "0\r\nno colon\r\n\r\n", body: nil, code: "invalid_trailer"),
    ChunkedCase(input: "0\r\nX: a\n\r\n", body: nil, code: "bare_lf"),
]

@Suite("Chunked body decoder")
struct ChunkedDecoderTests {
    /// Decodes `bytes` delivered in pieces of `step` bytes, as a connection would feed them.
    func decode(_ bytes: [UInt8], step: Int) -> (body: [UInt8], result: ChunkedDecoder.Result, consumed: Int, trailers: HTTPHeaders) {
        var decoder = ChunkedDecoder()
        var body: [UInt8] = []
        var offset = 0
        var last: ChunkedDecoder.Result = .needMore(consumed: 0)
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            last = bytes.withUnsafeBytes { raw in
                decoder.decode(UnsafeRawBufferPointer(rebasing: raw[offset..<end])) { body.append(contentsOf: $0) }
            }
            switch last {
            case .needMore(let consumed):
                #expect(consumed == end - offset, "needMore must consume all its input")
                offset = end
            case .done(let consumed):
                return (body, last, offset + consumed, decoder.trailers)
            case .invalid:
                return (body, last, offset, decoder.trailers)
            }
        }
        return (body, last, offset, decoder.trailers)
    }

    @Test("decodes whole and byte by byte alike", arguments: chunkedCases)
    func table(_ row: ChunkedCase) {
        let bytes = Array((row.input + row.rest).utf8)
        for step in [bytes.count, 1, 3] {
            let (body, result, consumed, trailers) = decode(bytes, step: step)
            if let expected = row.body {
                guard case .done = result else {
                    Issue.record("step \(step): expected the body to end, got \(result)")
                    continue
                }
                #expect(String(decoding: body, as: UTF8.self) == expected, "step \(step)")
                #expect(consumed == row.input.utf8.count, "step \(step): the bytes after the body stay unread")
                #expect(trailers.map { "\($0.name)=\($0.value)" } == row.trailers)
            } else {
                guard case .invalid(let error) = result else {
                    Issue.record("step \(step): expected invalid, got \(result)")
                    continue
                }
                #expect(error.status.code == 400)
                #expect(error.code == row.code, "step \(step)")
            }
        }
    }

    @Test("a body split anywhere decodes to the same bytes")
    func everySplit() {
        let input = Array("3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nT: v\r\n\r\n".utf8)
        for split in 0...input.count {
            var decoder = ChunkedDecoder()
            var body: [UInt8] = []
            let first = input.withUnsafeBytes { decoder.decode(UnsafeRawBufferPointer(rebasing: $0[0..<split])) { body += $0 } }
            #expect(first == .needMore(consumed: split) || split == input.count)
            let second = input.withUnsafeBytes { decoder.decode(UnsafeRawBufferPointer(rebasing: $0[split...])) { body += $0 } }
            if split < input.count { #expect(second == .done(consumed: input.count - split)) }
            #expect(body == Array("abcdefg".utf8))
            #expect(decoder.isDone)
        }
    }
}
