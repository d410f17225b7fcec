/// Attribute readers for integer lists and strings (Pad's `pads` and `mode`), with errors naming the node.
extension Attributes {
    /// Exactly `count` integers.
    func ints(_ key: String, count: Int) throws -> [Int] {
        if case .ints(let v)? = values[key], v.count == count { return v }
        throw ModelError("node '\(node)': attribute '\(key)' must be a list of \(count) integers, found "
            + (values[key].map { "\($0)" } ?? "nothing"))
    }

    func string(_ key: String, default value: String) throws -> String {
        switch values[key] {
        case .string(let v)?: return v
        case nil: return value
        default: throw ModelError("node '\(node)': attribute '\(key)' must be a string, found \(values[key]!)")
        }
    }
}
