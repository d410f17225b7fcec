/// A restricted unpickler for PyTorch state dicts: a fixed opcode set and an allow-list of globals, nothing executed.
import Foundation
import Tensors

/// A value the restricted unpickler builds. Lists and dicts are boxes because pickles mutate memoised
/// containers (APPEND, SETITEMS after BINPUT).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global, by its dotted name (only ever a name; nothing is imported).
    case global(String)
    /// A storage reference from a persistent id: its key and the element type's storage class name.
    case storage(key: String, type: String)
    /// A tensor rebuilt from a storage: the arguments of `torch._utils._rebuild_tensor_v2`.
    case tensor(StoredTensor)
}

/// A list being filled by APPEND(S).
final class PickleList {
    var items: [PickleValue] = []
}

/// A dict (or OrderedDict) being filled by SETITEM(S), keeping insertion order.
final class PickleDict {
    var keys: [PickleValue] = []
    var values: [PickleValue] = []
}

/// A tensor view into a storage: element offset, sizes and strides in elements.
struct StoredTensor {
    let storageKey: String
    let storageType: String
    let offset: Int
    let size: [Int]
    let stride: [Int]
}

/// Interprets the pickle opcodes state dicts use (protocols 2 to 5) and refuses every other opcode and every
/// global outside `allowedGlobals`. Calls (REDUCE) are interpreted, never performed: an OrderedDict becomes a
/// `PickleDict`, `_rebuild_tensor_v2` / `_rebuild_parameter` become a `StoredTensor`.
struct RestrictedUnpickler {
    /// The globals a state dict may name.
    static let storageTypes: Set<String> = [
        "torch.FloatStorage", "torch.HalfStorage", "torch.DoubleStorage", "torch.BFloat16Storage",
        "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage",
        "torch.BoolStorage",
    ]
    static let allowedGlobals: Set<String> = storageTypes.union([
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
    ])
    /// Limits against hostile pickles.
    static let maximumStackDepth = 10_000
    static let maximumMarkDepth = 64
    static let maximumMemo = 10_000_000

    private var reader: ByteReader
    let fail: (PyTorchCheckpointError.Reason) -> PyTorchCheckpointError

    /// Where the next pickle begins (after `load`, the byte after its STOP).
    var position: Int { reader.offset }

    init(bytes: ByteView, start: Int = 0, fail: @escaping (PyTorchCheckpointError.Reason) -> PyTorchCheckpointError) {
        self.reader = ByteReader(bytes, offset: start)
        self.fail = fail
    }

    /// The reader's error as the checkpoint's: running out of bytes is a truncated pickle, ill-formed text an
    /// invalid one.
    private func converted(_ error: ByteReadError) -> PyTorchCheckpointError {
        switch error.problem {
        case .invalidUTF8: return fail(.invalidPickle("\(error.what) at byte \(error.offset) is not valid UTF-8"))
        default: return fail(.truncated("the pickle ends inside \(error.what) at byte \(error.offset)"))
        }
    }

    private mutating func byte(_ what: String) throws -> UInt8 {
        do { return try reader.uint8(what) } catch { throw converted(error) }
    }

    private mutating func littleEndian(_ count: Int, _ what: String) throws -> UInt64 {
        do { return try reader.unsignedInteger(byteCount: count, .littleEndian, what) } catch { throw converted(error) }
    }

    private mutating func text(_ count: Int, _ what: String) throws -> String {
        do { return try reader.string(count, what) } catch { throw converted(error) }
    }

    private mutating func skip(_ count: Int, _ what: String) throws {
        do { try reader.skip(count, what) } catch { throw converted(error) }
    }

    /// Text up to a newline (GLOBAL's operands), which must come within 1024 bytes.
    private mutating func line(_ what: String) throws -> String {
        var end = position
        while let byte = reader.view.byte(at: end), byte != 0x0A, end - position < 1024 { end += 1 }
        guard reader.view.byte(at: end) == 0x0A, end - position < 1024 else {
            throw fail(.truncated("the pickle ends inside \(what)"))
        }
        let string = try text(end - position, what)
        try skip(1, what)
        return string
    }

    /// Reads one pickle up to and including STOP and returns its value; `position` is left after STOP.
    mutating func load() throws -> PickleValue {
        var stack: [PickleValue] = []
        var marks: [Int] = []
        var memo: [Int: PickleValue] = [:]

        func pop() throws -> PickleValue {
            guard let value = stack.popLast() else { throw fail(.invalidPickle("stack underflow at byte \(position)")) }
            return value
        }
        func popMark() throws -> [PickleValue] {
            guard let mark = marks.popLast() else { throw fail(.invalidPickle("no MARK before byte \(position)")) }
            guard mark <= stack.count else { throw fail(.invalidPickle("MARK below the stack at byte \(position)")) }
            let items = Array(stack[mark...])
            stack.removeSubrange(mark...)
            return items
        }
        func push(_ value: PickleValue) throws {
            guard stack.count < Self.maximumStackDepth else {
                throw fail(.limitExceeded("more than \(Self.maximumStackDepth) values on the pickle stack"))
            }
            stack.append(value)
        }
        func remember(_ index: Int) throws {
            guard let top = stack.last else { throw fail(.invalidPickle("memoising an empty stack")) }
            guard index >= 0, index < Self.maximumMemo else {
                throw fail(.limitExceeded("memo index \(index) is beyond \(Self.maximumMemo)"))
            }
            memo[index] = top
        }
        func recall(_ index: Int) throws {
            guard let value = memo[index] else { throw fail(.invalidPickle("memo entry \(index) was never stored")) }
            try push(value)
        }
        func setItems(_ items: [PickleValue]) throws {
            guard items.count % 2 == 0 else { throw fail(.invalidPickle("SETITEMS with an odd number of values")) }
            guard case let .dict(dict)? = stack.last else { throw fail(.invalidPickle("SETITEM on a non-dict")) }
            for index in stride(from: 0, to: items.count, by: 2) {
                dict.keys.append(items[index])
                dict.values.append(items[index + 1])
            }
        }

        while true {
            let opcodeOffset = position
            let opcode = try byte("an opcode")
            switch opcode {
            case 0x80: // PROTO
                let version = try byte("PROTO")
                guard version >= 2 && version <= 5 else {
                    throw fail(.invalidPickle("pickle protocol \(version) is not supported (2 to 5 are)"))
                }
            case 0x95: // FRAME: an 8-byte length; frames only group opcodes, so they are read straight through
                _ = try littleEndian(8, "FRAME")
            case 0x2E: // STOP
                guard stack.count == 1, marks.isEmpty else {
                    throw fail(.invalidPickle("STOP with \(stack.count) values and \(marks.count) open marks"))
                }
                return stack[0]
            case 0x28: // MARK
                guard marks.count < Self.maximumMarkDepth else {
                    throw fail(.limitExceeded("MARKs nested deeper than \(Self.maximumMarkDepth)"))
                }
                marks.append(stack.count)
            case 0x7D: try push(.dict(PickleDict())) // EMPTY_DICT
            case 0x5D: try push(.list(PickleList())) // EMPTY_LIST
            case 0x29: try push(.tuple([])) // EMPTY_TUPLE
            case 0x4E: try push(.none) // NONE
            case 0x88: try push(.bool(true)) // NEWTRUE
            case 0x89: try push(.bool(false)) // NEWFALSE
            case 0x4B: try push(.int(Int(try littleEndian(1, "BININT1")))) // BININT1
            case 0x4D: try push(.int(Int(try littleEndian(2, "BININT2")))) // BININT2
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4, "BININT"))))) // BININT
            case 0x8A: // LONG1: a little-endian two's-complement integer of n bytes
                let count = Int(try byte("LONG1"))
                guard count <= 8 else {
                    // Only torch's magic number (10 bytes) is this long; it is recognised before unpickling.
                    try skip(count, "LONG1")
                    try push(.none)
                    break
                }
                var value = try count == 0 ? UInt64(0) : littleEndian(count, "LONG1")
                if count > 0 && count < 8 && value >> (8 * count - 1) & 1 == 1 { value |= ~0 << (8 * count) }
                try push(.int(Int(Int64(bitPattern: value))))
            case 0x47: // BINFLOAT: big-endian double
                let bits: UInt64
                do { bits = try reader.integer(UInt64.self, .bigEndian, "BINFLOAT") } catch { throw converted(error) }
                try push(.float(Double(bitPattern: bits)))
            case 0x58: // BINUNICODE
                let count = Int(try littleEndian(4, "BINUNICODE"))
                try push(.string(try text(count, "a string")))
            case 0x8C: // SHORT_BINUNICODE
                let count = Int(try byte("SHORT_BINUNICODE"))
                try push(.string(try text(count, "a string")))
            case 0x71: try remember(Int(try littleEndian(1, "BINPUT"))) // BINPUT
            case 0x72: try remember(Int(try littleEndian(4, "LONG_BINPUT"))) // LONG_BINPUT
            case 0x94: try remember(memo.count) // MEMOIZE
            case 0x68: try recall(Int(try littleEndian(1, "BINGET"))) // BINGET
            case 0x6A: try recall(Int(try littleEndian(4, "LONG_BINGET"))) // LONG_BINGET
            case 0x74: try push(.tuple(try popMark())) // TUPLE
            case 0x85: try push(.tuple([try pop()])) // TUPLE1
            case 0x86: // TUPLE2
                let second = try pop(), first = try pop()
                try push(.tuple([first, second]))
            case 0x87: // TUPLE3
                let third = try pop(), second = try pop(), first = try pop()
                try push(.tuple([first, second, third]))
            case 0x63: // GLOBAL: "module\nname\n"
                let module = try line("a GLOBAL module"), name = try line("a GLOBAL name")
                try push(try global(module, name))
            case 0x93: // STACK_GLOBAL
                guard case let .string(name) = try pop(), case let .string(module) = try pop() else {
                    throw fail(.invalidPickle("STACK_GLOBAL without two strings at byte \(opcodeOffset)"))
                }
                try push(try global(module, name))
            case 0x51: // BINPERSID: torch's storage reference ('storage', type, key, location, numel[, view])
                guard case let .tuple(fields) = try pop(), fields.count >= 5, case .string("storage") = fields[0],
                      case let .global(type) = fields[1], Self.storageTypes.contains(type),
                      case let .string(key) = fields[2] else {
                    throw fail(.invalidPickle("a persistent id at byte \(opcodeOffset) is not a storage reference"))
                }
                try push(.storage(key: key, type: type))
            case 0x52: // REDUCE
                let arguments = try pop(), callable = try pop()
                try push(try reduce(callable, arguments, at: opcodeOffset))
            case 0x73: // SETITEM
                let value = try pop(), key = try pop()
                try setItems([key, value])
            case 0x75: try setItems(try popMark()) // SETITEMS
            case 0x61: // APPEND
                let value = try pop()
                guard case let .list(list)? = stack.last else { throw fail(.invalidPickle("APPEND to a non-list")) }
                list.items.append(value)
            case 0x65: // APPENDS
                let items = try popMark()
                guard case let .list(list)? = stack.last else { throw fail(.invalidPickle("APPENDS to a non-list")) }
                list.items.append(contentsOf: items)
            case 0x62: // BUILD: only the state OrderedDict.__reduce__ gives (its _metadata), which is dropped
                let state = try pop()
                guard case .dict = stack.last, case .dict = state else {
                    throw fail(.invalidPickle("BUILD at byte \(opcodeOffset) on something other than a dict"))
                }
            default:
                throw fail(.unknownOpcode(opcode: opcode, offset: opcodeOffset))
            }
        }
    }

    private func global(_ module: String, _ name: String) throws -> PickleValue {
        let dotted = module + "." + name
        guard Self.allowedGlobals.contains(dotted) else { throw fail(.disallowedGlobal(module: module, name: name)) }
        return .global(dotted)
    }

    /// Interprets a call of an allowed global without performing it.
    private func reduce(_ callable: PickleValue, _ arguments: PickleValue, at offset: Int) throws -> PickleValue {
        guard case let .global(name) = callable, case let .tuple(args) = arguments else {
            throw fail(.invalidPickle("REDUCE at byte \(offset) does not call an allowed global with a tuple"))
        }
        switch name {
        case "collections.OrderedDict":
            guard args.isEmpty else { throw fail(.invalidPickle("OrderedDict built with arguments at byte \(offset)")) }
            return .dict(PickleDict())
        case "torch._utils._rebuild_tensor_v2":
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard args.count >= 4, case let .storage(key, type) = args[0], case let .int(storageOffset) = args[1],
                  case let .tuple(sizeValues) = args[2], case let .tuple(strideValues) = args[3] else {
                throw fail(.invalidPickle("_rebuild_tensor_v2 at byte \(offset) has unexpected arguments"))
            }
            let size = try sizeValues.map { value -> Int in
                guard case let .int(extent) = value else { throw fail(.invalidPickle("a non-integer tensor size")) }
                return extent
            }
            let stride = try strideValues.map { value -> Int in
                guard case let .int(step) = value else { throw fail(.invalidPickle("a non-integer tensor stride")) }
                return step
            }
            return .tensor(StoredTensor(storageKey: key, storageType: type, offset: storageOffset, size: size,
                                        stride: stride))
        case "torch._utils._rebuild_parameter":
            // (data, requires_grad, backward_hooks): the parameter is its tensor
            guard let first = args.first, case .tensor = first else {
                throw fail(.invalidPickle("_rebuild_parameter at byte \(offset) does not wrap a tensor"))
            }
            return first
        default:
            throw fail(.invalidPickle("\(name) cannot be called (REDUCE at byte \(offset))"))
        }
    }
}
