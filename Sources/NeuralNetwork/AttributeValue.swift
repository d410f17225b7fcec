/// A node attribute in `model.json`: an integer, a list of integers, a number, a flag or a string.
public enum AttributeValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case int(Int)
    case ints([Int])
    case float(Double)
    case bool(Bool)
    case string(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int.self) { self = .int(v) }
        else if let v = try? c.decode(Double.self) { self = .float(v) }
        else if let v = try? c.decode([Int].self) { self = .ints(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "unsupported attribute value") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .ints(let v): try c.encode(v)
        case .float(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        }
    }

    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .ints(let v): return "\(v)"
        case .float(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return v
        }
    }
}

/// Typed reading of a node's attributes with errors naming the node.
struct Attributes {
    let values: Lookup
    let node: String

    init(values: [String: AttributeValue], node: String) {
        self.values = Lookup(values)
        self.node = node
    }

    /// The attributes present that nothing has read, by name: ones the op does not take (a misspelling, or an
    /// attribute of another op), which must be refused rather than silently left at their defaults.
    var unread: [String] { values.unread }
    /// The names read so far: what the op takes, for the error that lists them.
    var read: [String] { values.asked.sorted() }

    /// The attribute map, noting each name asked for.
    final class Lookup {
        private let all: [String: AttributeValue]
        private(set) var asked = Set<String>()

        init(_ all: [String: AttributeValue]) { self.all = all }

        subscript(key: String) -> AttributeValue? {
            asked.insert(key)
            return all[key]
        }

        var unread: [String] { all.keys.filter { !asked.contains($0) }.sorted() }
    }

    func int(_ key: String, default value: Int? = nil) throws -> Int {
        switch values[key] {
        case .int(let v)?: return v
        case .float(let v)? where v == v.rounded(): return Int(v)
        case nil: if let value { return value }
        default: break
        }
        throw ModelError("node '\(node)': attribute '\(key)' must be an integer, found \(values[key].map { "\($0)" } ?? "nothing")")
    }

    /// An integer pair; a single integer means the same value on both axes (as in PyTorch).
    func pair(_ key: String, default value: [Int]? = nil) throws -> [Int] {
        switch values[key] {
        case .int(let v)?: return [v, v]
        case .ints(let v)? where v.count == 2: return v
        case nil: if let value { return value }
        default: break
        }
        throw ModelError("node '\(node)': attribute '\(key)' must be an integer or a pair, found \(values[key].map { "\($0)" } ?? "nothing")")
    }

    /// Padding as [top, left, bottom, right] from an integer, a pair (symmetric) or four values.
    func padding(_ key: String) throws -> (begin: [Int], end: [Int]) {
        switch values[key] {
        case nil: return ([0, 0], [0, 0])
        case .int(let v)?: return ([v, v], [v, v])
        case .ints(let v)? where v.count == 2: return (v, v)
        case .ints(let v)? where v.count == 4: return ([v[0], v[1]], [v[2], v[3]])
        default:
            throw ModelError("node '\(node)': attribute '\(key)' must be an integer, a pair or [top, left, bottom, right]")
        }
    }

    func float(_ key: String, default value: Double) throws -> Double {
        try optionalFloat(key) ?? value
    }

    /// A number, or nil when the attribute is absent.
    func optionalFloat(_ key: String) throws -> Double? {
        switch values[key] {
        case .float(let v)?: return v
        case .int(let v)?: return Double(v)
        case nil: return nil
        case .string(let v)?: throw ModelError("node '\(node)': attribute '\(key)' must be a number, found the string \"\(v)\"")
        case let other?: throw ModelError("node '\(node)': attribute '\(key)' must be a number, found \(other)")
        }
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        switch values[key] {
        case .bool(let v)?: return v
        case nil: return value
        default: throw ModelError("node '\(node)': attribute '\(key)' must be true or false")
        }
    }
}
