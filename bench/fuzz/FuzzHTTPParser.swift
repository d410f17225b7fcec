// libFuzzer entry point for the request-head parser and the chunked decoder (built by scripts/fuzz-http).
// Besides crashes, it traps when feeding the same bytes whole and in pieces gives different verdicts.

/// Parses `bytes` whole and in pieces of `step`; returns both results.
func parseBothWays(_ bytes: UnsafeRawBufferPointer, step: Int, limits: HTTPRequestParser.Limits)
    -> (HTTPRequestParser.Result, HTTPRequestParser.Result)
{
    var whole = HTTPRequestParser(limits: limits)
    let wholeResult = whole.parse(bytes)
    var pieces = HTTPRequestParser(limits: limits)
    var pieceResult = HTTPRequestParser.Result.needMore
    var end = 0
    while end < bytes.count {
        end = min(bytes.count, end + step)
        pieceResult = pieces.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
        if pieceResult != .needMore { break }
    }
    if bytes.isEmpty { pieceResult = wholeResult }
    return (wholeResult, pieceResult)
}

/// Decodes `bytes` as a chunked body whole and in pieces of `step`; returns body and verdict for both.
func decodeBothWays(_ bytes: UnsafeRawBufferPointer, step: Int) -> ([UInt8], String, [UInt8], String) {
    func run(_ step: Int) -> ([UInt8], String) {
        var decoder = ChunkedDecoder(maxLineLength: 64, maxTrailerBytes: 256)
        var body: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            let result = decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])) { body += $0 }
            switch result {
            case .needMore(let consumed):
                precondition(consumed == end - offset, "needMore left input unconsumed")
                offset = end
            case .done(let consumed):
                precondition(consumed <= end - offset, "consumed more than given")
                return (body, "done at \(offset + consumed)")
            case .invalid(let error):
                return (body, "invalid \(error.code)")
            }
        }
        return (body, "needMore")
    }
    let (wholeBody, wholeVerdict) = run(max(1, bytes.count))
    let (pieceBody, pieceVerdict) = run(step)
    return (wholeBody, wholeVerdict, pieceBody, pieceVerdict)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let step = size == 0 ? 1 : Int(bytes[0] % 7) + 1
    let limits = HTTPRequestParser.Limits(maxRequestLineLength: 200, maxHeaderBytes: 600, maxHeaderCount: 12)
    let (whole, pieces) = parseBothWays(bytes, step: step, limits: limits)
    precondition(whole == pieces, "whole \(whole) but in pieces of \(step) \(pieces)")
    if case .complete(let head, let used) = whole {
        precondition(used > 0 && used <= size, "bytesUsed out of range")
        precondition(head.pathSegments.allSatisfy { $0 != ".." && $0 != "." }, "dot segment let through")
        if head.framing == .chunked {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
            let (wholeBody, wholeVerdict, pieceBody, pieceVerdict) = decodeBothWays(rest, step: step)
            precondition(wholeBody == pieceBody && wholeVerdict == pieceVerdict, "chunked: \(wholeVerdict) vs \(pieceVerdict)")
        }
    } else {
        // Raw input as a chunked body too, so the decoder is fuzzed from the first byte.
        let (wholeBody, wholeVerdict, pieceBody, pieceVerdict) = decodeBothWays(bytes, step: step)
        precondition(wholeBody == pieceBody && wholeVerdict == pieceVerdict, "chunked: \(wholeVerdict) vs \(pieceVerdict)")
    }
    return 0
}
