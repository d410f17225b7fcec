/// Bulk conversion of a byte run to `[Float]` at memory speed: the one place model files' numbers are decoded.
import Foundation

extension ByteView {
    /// The view's elements as Float32, in order; it must hold a whole number of elements.
    ///
    /// float32 is one copy; the other encodings are one tight loop each (an unaligned load, a byte swap on
    /// big-endian hosts, a conversion) that the compiler vectorises. Integers convert exactly while
    /// |value| ≤ 2²⁴ and round to nearest beyond; float64 rounds to nearest; bool gives 0 or 1.
    public func floats(as encoding: ScalarEncoding, _ what: String) throws(ByteReadError) -> [Float] {
        let size = encoding.byteCount
        guard count % size == 0 else {
            throw ByteReadError(what: what, offset: 0, problem: .partialElement(byteCount: count, elementSize: size))
        }
        let elements = count / size
        // Unsafe pointers on purpose: this is the hot path of every model load (EfficientNet-Lite0: 4.7 M floats),
        // and a checked subscript per element would keep the loops from vectorising. The bounds are proved above:
        // `elements * size == count`, so every load lies inside the view.
        return withBytes { source in
            [Float](unsafeUninitializedCapacity: elements) { destination, initialized in
                if elements > 0 {
                    ScalarConversion.convert(source.baseAddress!, encoding, elements, into: destination.baseAddress!)
                }
                initialized = elements
            }
        }
    }

    /// Element `index` of the view read as `encoding` (for strided views that gather elements one by one).
    public func float(at index: Int, as encoding: ScalarEncoding, _ what: String) throws(ByteReadError) -> Float {
        let size = encoding.byteCount
        let (offset, overflow) = index.multipliedReportingOverflow(by: size)
        guard !overflow else {
            throw ByteReadError(what: what, offset: index, problem: .invalidRange(count: size))
        }
        try checkRange(offset: offset, count: size, what)
        return withBytes { bytes in
            var value: Float = 0
            ScalarConversion.convert(bytes.baseAddress! + offset, encoding, 1, into: &value)
            return value
        }
    }
}

/// The conversion loops, over raw pointers whose ranges the callers have checked.
enum ScalarConversion {
    static func convert(_ source: UnsafeRawPointer, _ encoding: ScalarEncoding, _ count: Int,
                        into destination: UnsafeMutablePointer<Float>) {
        switch encoding {
        case .float32:
            #if _endian(little)
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: 4 * count)
            #else
            loop(source, count, destination) { (bits: UInt32) in Float(bitPattern: bits) }
            #endif
        case .float64: loop(source, count, destination) { (bits: UInt64) in Float(Double(bitPattern: bits)) }
        case .float16: loop(source, count, destination) { (bits: UInt16) in Float(float16Bits: bits) }
        case .bfloat16: loop(source, count, destination) { (bits: UInt16) in Float(bfloat16Bits: bits) }
        case .int8: loop(source, count, destination) { (value: Int8) in Float(value) }
        case .uint8: loop(source, count, destination) { (value: UInt8) in Float(value) }
        case .int16: loop(source, count, destination) { (value: Int16) in Float(value) }
        case .uint16: loop(source, count, destination) { (value: UInt16) in Float(value) }
        case .int32: loop(source, count, destination) { (value: Int32) in Float(value) }
        case .uint32: loop(source, count, destination) { (value: UInt32) in Float(value) }
        case .int64: loop(source, count, destination) { (value: Int64) in Float(value) }
        case .uint64: loop(source, count, destination) { (value: UInt64) in Float(value) }
        case .bool: loop(source, count, destination) { (value: UInt8) in value == 0 ? 0 : 1 }
        }
    }

    /// destination[i] = transform(the little-endian T at byte i·size(T) of source), for i in 0..<count.
    @inline(__always)
    private static func loop<T: FixedWidthInteger>(_ source: UnsafeRawPointer, _ count: Int,
                                                   _ destination: UnsafeMutablePointer<Float>,
                                                   _ transform: (T) -> Float) {
        let stride = MemoryLayout<T>.size
        for index in 0..<count {
            destination[index] = transform(T(littleEndian: source.loadUnaligned(fromByteOffset: index * stride, as: T.self)))
        }
    }
}
