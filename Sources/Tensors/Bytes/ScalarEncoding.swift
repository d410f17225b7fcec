/// The element types binary model files store (all little-endian) and their exact conversions to Float32.

/// How a run of bytes stores numbers, as safetensors dtypes, torch storages and ONNX tensors name them.
/// Every format Graft reads stores them little-endian.
public enum ScalarEncoding: String, Sendable, CaseIterable {
    case float32, float64, float16, bfloat16
    case int8, uint8, int16, uint16, int32, uint32, int64, uint64
    /// One byte, 0 for false and anything else for true (torch's `BoolStorage`).
    case bool

    /// The size of one element in bytes.
    public var byteCount: Int {
        switch self {
        case .int8, .uint8, .bool: return 1
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .float32, .int32, .uint32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }
}

extension Float {
    /// The IEEE 754 binary16 value with these bits, exactly: subnormals, ±0, ±∞ and NaN payloads included.
    ///
    /// Branch-free so that loops of it vectorise: the 15 low bits move up 13 places and the exponent bias grows
    /// from 15 to 127 (+112); an all-ones exponent (∞, NaN) gets another +112 to reach 255; a zero exponent
    /// (±0, subnormals m·2⁻²⁴) is rebuilt as (2⁻¹⁴ + m·2⁻²⁴) − 2⁻¹⁴, exact in Float32.
    @inlinable
    public init(float16Bits bits: UInt16) {
        let sign = UInt32(bits & 0x8000) << 16
        let magnitude = UInt32(bits & 0x7FFF) << 13
        let exponent = magnitude & 0x0F80_0000
        let rebiased = magnitude &+ 0x3800_0000
        let normal = exponent == 0x0F80_0000 ? rebiased &+ 0x3800_0000 : rebiased
        let subnormal = (Float(bitPattern: magnitude &+ 0x3880_0000) - Float(bitPattern: 0x3880_0000)).bitPattern
        self.init(bitPattern: (exponent == 0 ? subnormal : normal) | sign)
    }

    /// The bfloat16 value with these bits: the upper half of a Float32, so exact by construction.
    @inlinable
    public init(bfloat16Bits bits: UInt16) {
        self.init(bitPattern: UInt32(bits) << 16)
    }
}
