import CDNNL

/// oneDNN's single-precision GEMM, the machine's reference rate in benchmark reports.
public enum Sgemm {
    /// C = A·B for row-major A (m×k), B (k×n), C (m×n), on `context`'s threads.
    public static func multiply(_ a: [Float], _ b: [Float], into c: inout [Float], m: Int, n: Int, k: Int,
                                context: ComputeContext) throws {
        precondition(a.count == m * k && b.count == k * n && c.count == m * n, "sgemm sizes")
        context.activate()
        try c.withUnsafeMutableBufferPointer { cp in
            try check(
                dnnl_sgemm(
                    CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "N")), Int64(m), Int64(n), Int64(k), 1, a, Int64(k),
                    b, Int64(n), 0, cp.baseAddress, Int64(n)),
                "sgemm", "\(m)×\(k) · \(k)×\(n)")
        }
    }
}
