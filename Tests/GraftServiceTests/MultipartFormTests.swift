// The multipart/form-data parser: well-formed bodies, quoted parameters, binary parts, and malformed bodies.
import Foundation
import Testing
@testable import GraftService

@Suite struct MultipartFormTests {
    static func body(_ text: String) -> Data { Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

    @Test func partsWithFieldsAndFiles() throws {
        let binary: [UInt8] = [0, 13, 10, 45, 45, 255, 13, 10]   // CR LF and dashes inside a part stay
        var data = Self.body("""
            preamble is ignored
            --XyZ
            Content-Disposition: form-data; name="model"

            tiny
            --XyZ
            Content-Disposition: form-data; name="image"; filename="a b.png"
            Content-Type: image/png


            """)
        data.append(contentsOf: binary)
        data.append(Self.body("\n--XyZ--\n"))
        let form = try MultipartForm(body: data, boundary: "XyZ")
        #expect(form.parts.count == 2)
        #expect(form.parts[0] == .init(name: "model", fileName: nil, contentType: nil, body: Data("tiny".utf8)))
        #expect(form.parts[1].name == "image" && form.parts[1].fileName == "a b.png")
        #expect(form.parts[1].contentType == "image/png")
        #expect(Array(form.parts[1].body) == binary)
    }

    @Test(arguments: [
        ("multipart/form-data; boundary=abc", "abc"),
        ("multipart/form-data; charset=utf-8; boundary=\"a b\"", "a b"),
        ("Multipart/Form-Data;boundary=Q", "Q"),
    ])
    func boundaryParameter(contentType: String, expected: String) {
        #expect(MultipartForm.boundary(fromContentType: contentType) == expected)
    }

    @Test func boundaryMissingOrWrongType() {
        #expect(MultipartForm.boundary(fromContentType: "multipart/form-data") == nil)
        #expect(MultipartForm.boundary(fromContentType: "multipart/mixed; boundary=a") == nil)
        #expect(MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=") == nil)
    }

    @Test(arguments: [
        "no boundary at all",
        "--B\nContent-Disposition: form-data; name=\"a\"\n\nunterminated",
        "--B\nContent-Disposition: form-data; name=\"a\"\nno blank line",
        "--B\nContent-Type: text/plain\n\nx\n--B--\n",
        "--B junk\nContent-Disposition: form-data; name=\"a\"\n\nx\n--B--\n",
        "--B\nContent-Disposition form-data\n\nx\n--B--\n",
    ])
    func malformedBodiesAreRefused(text: String) {
        #expect(throws: ServiceError.self) { try MultipartForm(body: Self.body(text), boundary: "B") }
    }
}
