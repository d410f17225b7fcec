/// The ONNX operators Graft imports, one case each: attribute reading with ONNX's defaults per opset, constant
/// folding, and the engine layer each maps to.
import Foundation
import Tensors

extension ONNXTranslator {
    /// Translates one node; `translator` holds the values seen so far.
    struct Handler {
        let node: Onnx_NodeProto
        let translator: ONNXTranslator
        var t: ONNXTranslator { translator }
        var opset: Int { translator.opsetVersion }

        /// Attributes each operator may carry (anything else is refused, never ignored).
        static let knownAttributes: [String: Set<String>] = [
            "Add": [], "Sub": [], "Mul": [], "Div": [], "Identity": [], "Shape": ["start", "end"], "Sigmoid": [],
            "HardSwish": [], "Relu": [], "GlobalAveragePool": [], "GlobalMaxPool": [],
            "AveragePool": ["auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"],
            "BatchNormalization": ["epsilon", "momentum", "training_mode", "spatial"],
            "Cast": ["to", "saturate"], "Clip": ["min", "max"], "Concat": ["axis"],
            "Constant": ["value", "value_float", "value_floats", "value_int", "value_ints"],
            "Conv": ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"],
            "Dropout": ["ratio", "seed"], "Flatten": ["axis"], "Gather": ["axis"],
            "Gemm": ["alpha", "beta", "transA", "transB"], "HardSigmoid": ["alpha", "beta"],
            "LRN": ["alpha", "beta", "bias", "size"], "LeakyRelu": ["alpha"], "MatMul": [],
            "MaxPool": ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"],
            "Pad": ["mode", "pads", "value"], "ReduceMean": ["axes", "keepdims", "noop_with_empty_axes"],
            "Reshape": ["allowzero"], "Slice": ["starts", "ends", "axes"], "Softmax": ["axis"],
            "Split": ["axis", "split", "num_outputs"], "Squeeze": ["axes"], "Transpose": ["perm"],
            "Unsqueeze": ["axes"],
        ]

        func checkAttributes() throws {
            guard let known = Self.knownAttributes[node.opType] else { throw t.unsupportedOperator(node) }
            if let unknown = node.attribute.first(where: { !known.contains($0.name) }) {
                throw t.unsupportedAttribute(node, unknown.name, describe(unknown), "Graft does not implement it")
            }
        }

        // MARK: Attributes

        func attribute(_ name: String) -> Onnx_AttributeProto? { node.attribute.first { $0.name == name } }

        func describe(_ a: Onnx_AttributeProto) -> String {
            if !a.ints.isEmpty { return "\(a.ints)" }
            if !a.floats.isEmpty { return "\(a.floats)" }
            if a.hasS { return "'\(String(decoding: a.s, as: UTF8.self))'" }
            if a.hasF && a.type == .float { return "\(a.f)" }
            if a.hasT { return "a tensor" }
            return "\(a.i)"
        }

        func int(_ name: String, default value: Int) -> Int { attribute(name).map { Int($0.i) } ?? value }
        func ints(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map { Int($0) } } }
        func float(_ name: String, default value: Float) -> Float { attribute(name).map { $0.f } ?? value }
        func string(_ name: String, default value: String) -> String {
            attribute(name).map { String(decoding: $0.s, as: UTF8.self) } ?? value
        }

        func input(_ i: Int) -> String? { i < node.input.count && !node.input[i].isEmpty ? node.input[i] : nil }
        var output: String { node.output[0] }

        func tensor(_ i: Int) throws -> (String, [Int]) { try t.tensor(node.input[i], for: node) }
        func constant(_ i: Int) throws -> Constant { try t.constantValue(node.input[i], for: node) }
        func isConstant(_ i: Int) -> Bool { input(i).map { t.isConstant($0) } ?? false }

        func emit(_ op: String, _ attributes: [String: AttributeValue] = [:], inputs: [String],
                  weights: [String: Tensor] = [:]) throws {
            t.bind(output, try t.emit(for: node, op: op, attributes: attributes, inputs: inputs, weights: weights))
        }

        func fold(_ c: Constant) { t.set(output, .constant(c)) }

        func refuse(_ why: String) -> ONNXError { t.unsupported(node, why) }
        func refuse(attribute: String, _ value: String, _ why: String) -> ONNXError {
            t.unsupportedAttribute(node, attribute, value, why)
        }

        /// A constant operand's values as whole numbers (axes, pads, split sizes).
        func integers(_ i: Int, _ what: String) throws -> [Int] {
            guard let values = try constant(i).knownIntegers else { throw refuse("\(what) must be known integers") }
            return values
        }

        // MARK: Dispatch

        func run() throws {
            switch node.opType {
            case "Constant": try constantNode()
            case "Identity": t.set(output, t.value(node.input[0])!)
            case "Dropout":
                if node.output.count > 1, !node.output[1].isEmpty, t.consumerCount(node.output[1]) > 0 {
                    throw refuse("its mask output is used; Graft imports inference graphs (export in eval mode)")
                }
                t.set(output, t.value(node.input[0])!)
            case "Shape": try shape()
            case "Gather": try gather()
            case "Unsqueeze", "Squeeze": try squeezeOrUnsqueeze()
            case "Cast": try cast()
            case "Concat": try concat()
            case "Add", "Sub", "Mul", "Div": try arithmetic()
            case "Slice": try slice()
            case "Split": try split()
            case "Reshape": try reshape()
            case "Transpose": try transpose()
            case "Flatten": try flatten()
            case "Conv": try conv()
            case "BatchNormalization": try batchNorm()
            case "Relu": try emit("ReLU", inputs: [try tensor(0).0])
            case "Sigmoid": try emit("Sigmoid", inputs: [try tensor(0).0])
            case "HardSwish": try emit("HardSwish", inputs: [try tensor(0).0])
            case "HardSigmoid":
                try emit("HardSigmoid", ["alpha": .float(Double(float("alpha", default: 0.2))),
                                         "beta": .float(Double(float("beta", default: 0.5)))], inputs: [try tensor(0).0])
            case "LeakyRelu":
                try emit("LeakyReLU", ["negative_slope": .float(Double(float("alpha", default: 0.01)))], inputs: [try tensor(0).0])
            case "Clip": try clip()
            case "MaxPool", "AveragePool": try pool()
            case "GlobalAveragePool": try emit("GlobalAvgPool", inputs: [try fourD(0).0])
            case "GlobalMaxPool": try emit("GlobalMaxPool", inputs: [try fourD(0).0])
            case "ReduceMean": try reduceMean()
            case "LRN":
                guard let size = attribute("size").map({ Int($0.i) }), size >= 1 else {
                    throw refuse(attribute: "size", "missing", "LRN needs a window size ≥ 1")
                }
                try emit("LRN", ["size": .int(size), "alpha": .float(Double(float("alpha", default: 1e-4))),
                                 "beta": .float(Double(float("beta", default: 0.75))),
                                 "k": .float(Double(float("bias", default: 1)))], inputs: [try fourD(0).0])
            case "Pad": try pad()
            case "Gemm": try gemm()
            case "MatMul": try matMul()
            case "Softmax": try softmax()
            default: throw t.unsupportedOperator(node)
            }
        }

        func fourD(_ i: Int) throws -> (String, [Int]) {
            let x = try tensor(i)
            guard x.1.count == 4 else { throw refuse("needs an N×C×H×W input, got shape \(x.1)") }
            return x
        }

        // MARK: Constants and shape arithmetic

        func constantNode() throws {
            if let a = attribute("value") { fold(try t.constant(from: a.t)); return }
            if let a = attribute("value_float") { fold(Constant(shape: [], floats: [a.f])); return }
            if let a = attribute("value_floats") { fold(Constant(shape: [a.floats.count], floats: a.floats)); return }
            if let a = attribute("value_int") { fold(Constant(shape: [], integers: [.value(a.i)])); return }
            if let a = attribute("value_ints") { fold(Constant(shape: [a.ints.count], integers: a.ints.map { .value($0) })); return }
            throw refuse("a Constant needs value, value_float(s) or value_int(s)")
        }

        func shape() throws {
            let elements: [ShapeElement]
            switch t.value(node.input[0]) {
            case .constant(let c)?: elements = c.shape.map { .value(Int64($0)) }
            default:
                let x = try tensor(0)
                elements = [.batch] + x.1.dropFirst().map { .value(Int64($0)) }
            }
            let rank = elements.count
            func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
            let start = clamp(int("start", default: 0)), end = clamp(int("end", default: rank))
            let part = start < end ? Array(elements[start..<end]) : []
            fold(Constant(shape: [part.count], integers: part))
        }

        func gather() throws {
            let data = try constant(0)
            let indices = try integers(1, "Gather's indices")
            guard data.shape.count == 1, int("axis", default: 0) == 0 else {
                throw refuse("Graft folds Gather of 1-D constants only (shape arithmetic); this one gathers \(data.shape)")
            }
            let n = data.shape[0]
            let picked = try indices.map { i -> Int in
                let j = i < 0 ? i + n : i
                guard j >= 0, j < n else { throw refuse("index \(i) is outside 0..<\(n)") }
                return j
            }
            let shape = try constant(1).shape
            if let e = data.integers { fold(Constant(shape: shape, integers: picked.map { e[$0] })) }
            else { fold(Constant(shape: shape, floats: picked.map { data.floats![$0] })) }
        }

        func squeezeOrUnsqueeze() throws {
            let axes: [Int]? = opset >= 13 ? (input(1) != nil ? try integers(1, "axes") : nil) : ints("axes")
            if !isConstant(0) {
                // N×C×1×1 squeezed on its spatial axes is a flatten (some exporters write GAP → Squeeze)
                let x = try tensor(0)
                let normalised = Set((axes ?? []).map { $0 < 0 ? $0 + x.1.count : $0 })
                guard node.opType == "Squeeze", x.1.count == 4, x.1[2] == 1, x.1[3] == 1, normalised == [2, 3] else {
                    throw refuse("\(node.opType) of a feature map is supported only as Squeeze(axes=[2, 3]) of N×C×1×1")
                }
                try emit("Flatten", inputs: [x.0])
                return
            }
            var c = try constant(0)
            if node.opType == "Unsqueeze" {
                guard let axes else { throw refuse("Unsqueeze needs axes") }
                let rank = c.shape.count + axes.count
                for axis in axes.map({ $0 < 0 ? $0 + rank : $0 }).sorted() {
                    guard axis >= 0, axis <= c.shape.count else { throw refuse("axis \(axis) is out of range") }
                    c.shape.insert(1, at: axis)
                }
            } else {
                let rank = c.shape.count
                let drop = Set((axes ?? c.shape.indices.filter { c.shape[$0] == 1 }).map { $0 < 0 ? $0 + rank : $0 })
                guard drop.allSatisfy({ $0 >= 0 && $0 < rank && c.shape[$0] == 1 }) else {
                    throw refuse("Squeeze axes \(axes ?? []) are not all of size 1 in \(c.shape)")
                }
                c.shape = c.shape.indices.filter { !drop.contains($0) }.map { c.shape[$0] }
            }
            fold(c)
        }

        func cast() throws {
            let to = int("to", default: 1)
            guard isConstant(0) else {
                guard to == 1 else { throw refuse(attribute: "to", "\(to)", "a feature map can only stay float") }
                t.bind(output, try tensor(0))
                return
            }
            let c = try constant(0)
            switch to {
            case 1, 10, 11:  // float, float16, double: Graft computes in float
                if c.floats != nil { fold(c); return }
                guard let values = c.knownIntegers else { throw refuse("cannot cast the symbolic batch size to float") }
                fold(Constant(shape: c.shape, floats: values.map { Float($0) }))
            case 6, 7:  // int32, int64
                if let e = c.integers { fold(Constant(shape: c.shape, integers: e)); return }
                fold(Constant(shape: c.shape, integers: c.floats!.map { .value(Int64($0.rounded(.towardZero))) }))
            default:
                throw refuse(attribute: "to", "\(to)", "Graft folds casts to float and integer types only")
            }
        }

        func concat() throws {
            let axis = int("axis", default: 0)
            let names = node.input.filter { !$0.isEmpty }
            if names.allSatisfy({ t.isConstant($0) }) {
                let parts = try names.map { try t.constantValue($0, for: node) }
                guard parts.allSatisfy({ $0.shape.count == 1 }), axis == 0 || axis == -1 else {
                    throw refuse("Graft folds Concat of 1-D constants only")
                }
                if parts.allSatisfy({ $0.integers != nil || $0.knownIntegers != nil }) {
                    let e = parts.flatMap { $0.elements! }
                    fold(Constant(shape: [e.count], integers: e))
                } else {
                    let f = parts.flatMap { $0.floats ?? [] }
                    fold(Constant(shape: [f.count], floats: f))
                }
                return
            }
            let inputs = try names.map { try t.tensor($0, for: node) }
            let rank = inputs[0].1.count
            let dim = axis < 0 ? axis + rank : axis
            guard dim >= 1, dim < rank else { throw refuse(attribute: "axis", "\(axis)", "Graft concatenates along an axis after the batch") }
            try emit("Concat", ["dim": .int(dim)], inputs: inputs.map(\.0))
        }

        func arithmetic() throws {
            let op = node.opType
            if isConstant(0) && isConstant(1) {
                fold(try foldArithmetic(op, try constant(0), try constant(1)))
                return
            }
            switch op {
            case "Add":
                if isConstant(0) || isConstant(1) {
                    try addConstant(tensorIndex: isConstant(0) ? 1 : 0)
                    return
                }
                try emit("Add", inputs: [try tensor(0).0, try tensor(1).0])
            case "Mul":
                if isConstant(0) || isConstant(1) {
                    let c = try constant(isConstant(0) ? 0 : 1)
                    guard (c.floats ?? []).allSatisfy({ $0 == 1 }), c.integers == nil else {
                        throw refuse("multiplying a feature map by a constant is not supported (fold the scale into the neighbouring weights before export)")
                    }
                    t.bind(output, try tensor(isConstant(0) ? 1 : 0))
                    return
                }
                try mulOfTensors()
            default:
                throw refuse("\(op) of feature maps is not supported; if it normalises the input, remove it from the graph and pass --mean/--std to graft import onnx")
            }
        }

        /// x · sigmoid(x) is SiLU and x · hardsigmoid(x) (α = 1/6, β = ½) is HardSwish, as PyTorch exports them; other
        /// products (squeeze-and-excitation's scale) are a broadcast Mul.
        func mulOfTensors() throws {
            for (gateIndex, otherIndex) in [(1, 0), (0, 1)] {
                let gate = node.input[gateIndex], other = node.input[otherIndex]
                guard let producer = t.producer(gate), producer.input.first == other, t.consumerCount(gate) == 1,
                      case .tensor(let gateNode, _)? = t.value(gate) else { continue }
                let hardSigmoid = producer.opType == "HardSigmoid"
                    && abs((producer.attribute.first { $0.name == "alpha" }.map { $0.f } ?? 0.2) - 1.0 / 6) < 1e-6
                    && abs((producer.attribute.first { $0.name == "beta" }.map { $0.f } ?? 0.5) - 0.5) < 1e-6
                guard producer.opType == "Sigmoid" || hardSigmoid else { continue }
                t.remove(gateNode)
                try emit(hardSigmoid ? "HardSwish" : "SiLU", inputs: [try tensor(otherIndex).0])
                return
            }
            try emit("Mul", inputs: [try tensor(0).0, try tensor(1).0])
        }

        /// Add of a constant: the bias of a preceding MatMul (one Linear), or zero.
        func addConstant(tensorIndex: Int) throws {
            let c = try constant(1 - tensorIndex)
            let x = try tensor(tensorIndex)
            if let floats = c.floats, floats.allSatisfy({ $0 == 0 }) { t.bind(output, x); return }
            if let spec = t.spec(of: x.0), spec.op == "Linear", spec.attributes["bias"] == .bool(false),
               t.consumerCount(node.input[tensorIndex]) == 1, let floats = c.floats,
               case .int(let out)? = spec.attributes["out_features"], c.count == out || c.count == 1 {
                var attributes = spec.attributes
                attributes["bias"] = .bool(true)
                t.updateSpec(of: x.0, attributes: attributes,
                             weights: ["bias": Tensor(shape: [out], scalars: c.count == out ? floats : Array(repeating: floats[0], count: out))])
                t.bind(output, x)
                return
            }
            throw refuse("adding a constant to a feature map is supported only as the bias after MatMul")
        }

        func foldArithmetic(_ op: String, _ a: Constant, _ b: Constant) throws -> Constant {
            let shape = a.count >= b.count ? a.shape : b.shape
            let n = max(a.count, b.count)
            guard a.count == b.count || a.count == 1 || b.count == 1 else {
                throw refuse("Graft folds element-wise arithmetic on constants of equal size or scalars, got \(a.shape) and \(b.shape)")
            }
            if let x = a.elements, let y = b.elements, a.floats == nil || b.floats == nil || (a.knownIntegers != nil && b.knownIntegers != nil),
               a.integers != nil || b.integers != nil {
                let out = try (0..<n).map { i -> ShapeElement in
                    let p = x[a.count == 1 ? 0 : i], q = y[b.count == 1 ? 0 : i]
                    guard case .value(let u) = p, case .value(let v) = q else {
                        throw refuse("arithmetic on the batch size is not supported (export with a fixed batch or a plain flatten)")
                    }
                    switch op {
                    case "Add": return .value(u &+ v)
                    case "Sub": return .value(u &- v)
                    case "Mul": return .value(u &* v)
                    default:
                        guard v != 0 else { throw refuse("division by zero in shape arithmetic") }
                        return .value(Int64((Double(u) / Double(v)).rounded(.down)))
                    }
                }
                return Constant(shape: shape, integers: out)
            }
            guard let x = a.floats ?? a.knownIntegers.map({ $0.map(Float.init) }),
                  let y = b.floats ?? b.knownIntegers.map({ $0.map(Float.init) }) else {
                throw refuse("arithmetic on the batch size is not supported")
            }
            let out = (0..<n).map { i -> Float in
                let p = x[a.count == 1 ? 0 : i], q = y[b.count == 1 ? 0 : i]
                switch op {
                case "Add": return p + q
                case "Sub": return p - q
                case "Mul": return p * q
                default: return p / q
                }
            }
            return Constant(shape: shape, floats: out)
        }

        // MARK: Slicing and reshaping

        func sliceBounds() throws -> (starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) {
            if opset < 10 {
                guard let s = ints("starts"), let e = ints("ends") else { throw refuse("Slice needs starts and ends") }
                return (s, e, ints("axes"), nil)
            }
            return (try integers(1, "starts"), try integers(2, "ends"),
                    input(3) != nil ? try integers(3, "axes") : nil, input(4) != nil ? try integers(4, "steps") : nil)
        }

        func slice() throws {
            let (starts, ends, axes, steps) = try sliceBounds()
            guard (steps ?? []).allSatisfy({ $0 == 1 }) else { throw refuse("only step 1 is supported") }
            if isConstant(0) {
                let c = try constant(0)
                guard c.shape.count == 1, (axes ?? [0]) == [0] || axes == [-1], starts.count == 1 else {
                    throw refuse("Graft folds Slice of 1-D constants only")
                }
                let n = c.shape[0]
                func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + n : v, 0), n) }
                let range = clamp(starts[0])..<max(clamp(starts[0]), clamp(ends[0]))
                if let e = c.integers { fold(Constant(shape: [range.count], integers: Array(e[range]))) }
                else { fold(Constant(shape: [range.count], floats: Array(c.floats![range]))) }
                return
            }
            let x = try tensor(0)
            let rank = x.1.count
            guard let axes = axes.map({ $0.map { $0 < 0 ? $0 + rank : $0 } }) ?? (starts.count == 1 ? [0] : nil),
                  axes == [1], starts.count == 1, ends.count == 1 else {
                throw refuse("slicing a feature map is supported along channels (axis 1) only")
            }
            let c = x.1[1]
            func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + c : v, 0), c) }
            try emit("Slice", ["dim": .int(1), "start": .int(clamp(starts[0])), "end": .int(clamp(ends[0]))], inputs: [x.0])
        }

        func split() throws {
            let x = try tensor(0)
            let rank = x.1.count
            let axis = int("axis", default: 0)
            guard (axis < 0 ? axis + rank : axis) == 1 else {
                throw refuse(attribute: "axis", "\(axis)", "Graft splits feature maps along channels (axis 1) only")
            }
            let outputs = node.output.count
            var sizes: [Int]
            if opset >= 13, input(1) != nil { sizes = try integers(1, "split sizes") }
            else if let s = ints("split"), !s.isEmpty { sizes = s }
            else {
                let parts = opset >= 18 ? int("num_outputs", default: outputs) : outputs
                let each = (x.1[1] + parts - 1) / parts
                sizes = (0..<parts).map { min(each, x.1[1] - each * $0) }
            }
            guard sizes.count == outputs, sizes.reduce(0, +) == x.1[1], sizes.allSatisfy({ $0 > 0 }) else {
                throw refuse("split sizes \(sizes) do not divide \(x.1[1]) channels into \(outputs) outputs")
            }
            var start = 0
            for (k, size) in sizes.enumerated() {
                let result = try t.emit(for: node, op: "Slice",
                                        attributes: ["dim": .int(1), "start": .int(start), "end": .int(start + size)],
                                        inputs: [x.0])
                t.bind(node.output[k], result)
                start += size
            }
        }

        /// The reshape target at batch 1, with `batchAt` marking where the symbolic batch went.
        func target(for input: [Int]) throws -> (dims: [Int], batchFirst: Bool) {
            guard let elements = try constant(1).elements else { throw refuse("the target shape must be integers") }
            let allowZero = int("allowzero", default: 0) == 1
            var dims: [Int] = []
            var batchFirst = false
            var inferred: Int?
            for (i, e) in elements.enumerated() {
                if i == 0 && t.isBatch(e) { dims.append(1); batchFirst = true; continue }
                guard case .value(let v) = e else { throw refuse("the batch size may only be the first dimension") }
                switch v {
                case 0 where !allowZero:
                    guard i < input.count else { throw refuse("target dimension \(i) copies an input dimension that does not exist") }
                    if i == 0 { batchFirst = true }
                    dims.append(input[i])
                case -1:
                    guard inferred == nil else { throw refuse("the target shape has more than one -1") }
                    inferred = i
                    dims.append(1)
                default:
                    guard v > 0 else { throw refuse("target dimension \(v) is invalid") }
                    dims.append(Int(v))
                }
            }
            let total = input.reduce(1, *), known = dims.reduce(1, *)
            if let i = inferred {
                guard known > 0, total % known == 0 else { throw refuse("cannot reshape \(input) to \(elements)") }
                dims[i] = total / known
            }
            guard dims.reduce(1, *) == total else { throw refuse("cannot reshape \(input) to \(elements)") }
            return (dims, batchFirst)
        }

        func reshape() throws {
            switch t.value(node.input[0]) {
            case .constant(var c)?:
                let (dims, _) = try target(for: c.shape)
                c.shape = dims
                fold(c)
            case .shuffleTransposed(let source, let shape, let groups)?:
                let (dims, batchFirst) = try target(for: shape)
                guard batchFirst, dims.count == 4, dims[1] == shape[1] * shape[2], dims[2] == shape[3], dims[3] == shape[4] else {
                    throw refuse("a transposed 5-D tensor must be reshaped back to N×C×H×W (a channel shuffle)")
                }
                try emit("ChannelShuffle", ["groups": .int(groups)], inputs: [source])
            default:
                let x = try tensor(0)
                let (dims, batchFirst) = try target(for: x.1)
                guard batchFirst else {
                    throw refuse("the reshape moves the batch dimension (target \(try constant(1).elements ?? [])); Graft keeps it first")
                }
                if dims == x.1 { t.bind(output, x); return }
                if dims.count == 2, x.1.count >= 2 {
                    try emit("Flatten", inputs: [x.0])
                    return
                }
                if x.1.count == 4, dims.count == 5, dims[1] * dims[2] == x.1[1], dims[3] == x.1[2], dims[4] == x.1[3] {
                    t.set(output, .shuffleSplit(source: x.0, shape: dims, groups: dims[1]))
                    return
                }
                throw refuse("reshaping \(x.1) to \(dims) is not supported (Graft runs flattens and channel shuffles)")
            }
        }

        func transpose() throws {
            guard case .shuffleSplit(let source, let shape, let groups)? = t.value(node.input[0]),
                  ints("perm") == [0, 2, 1, 3, 4] else {
                throw refuse("Transpose is supported only inside a channel shuffle (perm [0, 2, 1, 3, 4] of N×g×(C/g)×H×W)")
            }
            t.set(output, .shuffleTransposed(source: source, shape: [shape[0], shape[2], shape[1], shape[3], shape[4]],
                                             groups: groups))
        }

        func flatten() throws {
            let x = try tensor(0)
            let axis = int("axis", default: 1)
            guard (axis < 0 ? axis + x.1.count : axis) == 1 else {
                throw refuse(attribute: "axis", "\(axis)", "Graft flattens after the batch dimension (axis 1) only")
            }
            if x.1.count == 2 { t.bind(output, x); return }
            try emit("Flatten", inputs: [x.0])
        }

        // MARK: Layers with weights

        /// Padding per spatial axis from `pads` or `auto_pad`, as [top, left, bottom, right].
        func padding(input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) throws -> [Int] {
            let autoPad = string("auto_pad", default: "NOTSET")
            switch autoPad {
            case "NOTSET":
                let pads = ints("pads") ?? [0, 0, 0, 0]
                guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else {
                    throw refuse(attribute: "pads", "\(pads)", "2-D operators need four non-negative pads")
                }
                return pads
            case "VALID": return [0, 0, 0, 0]
            case "SAME_UPPER", "SAME_LOWER":
                var begin: [Int] = [], end: [Int] = []
                for axis in 0..<2 {
                    let size = input[2 + axis], s = strides[axis]
                    let out = (size + s - 1) / s
                    let total = max((out - 1) * s + (kernel[axis] - 1) * dilations[axis] + 1 - size, 0)
                    let small = total / 2
                    begin.append(autoPad == "SAME_UPPER" ? small : total - small)
                    end.append(autoPad == "SAME_UPPER" ? total - small : small)
                }
                return begin + end
            default:
                throw refuse(attribute: "auto_pad", autoPad, "use NOTSET, VALID, SAME_UPPER or SAME_LOWER")
            }
        }

        func pair(_ name: String, default value: [Int]) throws -> [Int] {
            guard let v = ints(name) else { return value }
            guard v.count == 2 else { throw refuse(attribute: name, "\(v)", "Graft imports 2-D operators only") }
            return v
        }

        func conv() throws {
            var x: (String, [Int])
            var extra = [0, 0, 0, 0]
            if case .pendingPad(let source, _, let pads, let value)? = t.value(node.input[0]), value == 0,
               t.consumerCount(node.input[0]) == 1 {
                x = try t.tensor(source, for: node)
                extra = pads
            } else {
                x = try fourD(0)
            }
            guard x.1.count == 4 else { throw refuse("needs an N×C×H×W input, got \(x.1)") }
            let w = try constant(1)
            guard let weight = w.floats, w.shape.count == 4 else {
                throw refuse("weights of shape \(w.shape): Graft imports 2-D convolutions (4-D float weights) only")
            }
            let kernel = try pair("kernel_shape", default: Array(w.shape[2...]))
            guard kernel == Array(w.shape[2...]) else {
                throw refuse(attribute: "kernel_shape", "\(kernel)", "does not match the weights' \(Array(w.shape[2...]))")
            }
            let strides = try pair("strides", default: [1, 1]), dilations = try pair("dilations", default: [1, 1])
            let groups = int("group", default: 1)
            var pads = try padding(input: [x.1[0], x.1[1], x.1[2] + extra[0] + extra[2], x.1[3] + extra[1] + extra[3]],
                                   kernel: kernel, strides: strides, dilations: dilations)
            for i in 0..<4 { pads[i] += extra[i] }
            var params = ["weight": Tensor(shape: w.shape, scalars: weight)]
            if input(2) != nil {
                let b = try constant(2)
                guard let bias = b.floats, b.count == w.shape[0] else { throw refuse("the bias must hold \(w.shape[0]) floats") }
                params["bias"] = Tensor(shape: [w.shape[0]], scalars: bias)
            }
            try emit("Conv2d", [
                "in_channels": .int(x.1[1]), "out_channels": .int(w.shape[0]), "kernel_size": .ints(kernel),
                "stride": .ints(strides), "padding": .ints(pads), "dilation": .ints(dilations), "groups": .int(groups),
                "bias": .bool(params["bias"] != nil),
            ], inputs: [x.0], weights: params)
        }

        func batchNorm() throws {
            if opset >= 14, int("training_mode", default: 0) != 0 {
                throw refuse(attribute: "training_mode", "1", "Graft imports inference graphs (export in eval mode)")
            }
            if node.output.dropFirst().contains(where: { !$0.isEmpty && t.consumerCount($0) > 0 }) {
                throw refuse("its running-statistics outputs are used; export in eval mode")
            }
            let x = try fourD(0)
            let c = x.1[1]
            var params: [String: Tensor] = [:]
            for (i, name) in [(1, "weight"), (2, "bias"), (3, "running_mean"), (4, "running_var")] {
                let v = try constant(i)
                guard let floats = v.floats, v.count == c else { throw refuse("input \(i) must hold \(c) floats") }
                params[name] = Tensor(shape: [c], scalars: floats)
            }
            // ONNX keeps momentum for the running average (0.9); PyTorch's is the new batch's share (0.1)
            let momentum = 1 - Double(float("momentum", default: 0.9))
            try emit("BatchNorm2d", ["num_features": .int(c), "eps": .float(Double(float("epsilon", default: 1e-5))),
                                     "momentum": .float((momentum * 1e6).rounded() / 1e6)],
                     inputs: [x.0], weights: params)
        }

        func clip() throws {
            var low: Float?, high: Float?
            if opset < 11 {
                low = attribute("min").map { $0.f }
                high = attribute("max").map { $0.f }
            } else {
                if input(1) != nil { low = try constant(1).scalar }
                if input(2) != nil { high = try constant(2).scalar }
                if input(1) != nil && low == nil || input(2) != nil && high == nil {
                    throw refuse("Clip's min and max must be scalar constants")
                }
            }
            if let l = low, l <= -Float.greatestFiniteMagnitude { low = nil }
            if let h = high, h >= Float.greatestFiniteMagnitude { high = nil }
            let x = try tensor(0)
            switch (low, high) {
            case (0?, 6?): try emit("ReLU6", inputs: [x.0])
            case (0?, nil): try emit("ReLU", inputs: [x.0])
            case (nil, nil): t.bind(output, x)
            default:
                var attributes: [String: AttributeValue] = [:]
                if let low { attributes["min"] = .float(Double(low)) }
                if let high { attributes["max"] = .float(Double(high)) }
                try emit("Clip", attributes, inputs: [x.0])
            }
        }

        func pool() throws {
            if node.output.count > 1, !node.output[1].isEmpty, t.consumerCount(node.output[1]) > 0 {
                throw refuse("its indices output is used; Graft's max pooling gives values only")
            }
            let x = try fourD(0)
            guard let kernel = ints("kernel_shape"), kernel.count == 2 else {
                throw refuse(attribute: "kernel_shape", ints("kernel_shape").map { "\($0)" } ?? "missing", "2-D pooling needs a 2-D kernel")
            }
            let strides = try pair("strides", default: [1, 1])
            let max = node.opType == "MaxPool"
            let dilations = max ? try pair("dilations", default: [1, 1]) : [1, 1]
            if max, int("storage_order", default: 0) != 0 {
                throw refuse(attribute: "storage_order", "1", "only row-major indices exist in Graft")
            }
            let pads = try padding(input: x.1, kernel: kernel, strides: strides, dilations: dilations)
            var attributes: [String: AttributeValue] = [
                "kernel_size": .ints(kernel), "stride": .ints(strides), "padding": .ints(pads),
            ]
            if int("ceil_mode", default: 0) != 0 { attributes["ceil_mode"] = .bool(true) }
            if max, dilations != [1, 1] { attributes["dilation"] = .ints(dilations) }
            if !max { attributes["count_include_pad"] = .bool(int("count_include_pad", default: 0) != 0) }
            try emit(max ? "MaxPool2d" : "AvgPool2d", attributes, inputs: [x.0])
        }

        func reduceMean() throws {
            let x = try fourD(0)
            let axes: [Int]? = opset >= 18 ? (input(1) != nil ? try integers(1, "axes") : nil) : ints("axes")
            let normalised = Set((axes ?? [0, 1, 2, 3]).map { $0 < 0 ? $0 + 4 : $0 })
            guard normalised == [2, 3] else {
                throw refuse(attribute: "axes", "\(axes ?? [])", "Graft averages over the spatial axes [2, 3] only (global average pooling)")
            }
            let keep = int("keepdims", default: 1) != 0
            if keep { try emit("GlobalAvgPool", inputs: [x.0]); return }
            let pooled = try t.emit(for: node, op: "GlobalAvgPool", attributes: [:], inputs: [x.0])
            try emit("Flatten", inputs: [pooled.0])
        }

        func pad() throws {
            let mode = string("mode", default: "constant")
            guard mode == "constant" else { throw refuse(attribute: "mode", mode, "Graft pads with a constant only") }
            let pads: [Int]
            var value: Float = 0
            if opset < 11 {
                guard let p = ints("pads") else { throw refuse("Pad needs pads") }
                pads = p
                value = float("value", default: 0)
            } else {
                guard input(3) == nil else { throw refuse("Pad with axes is not supported; give pads for all four axes") }
                pads = try integers(1, "pads")
                if input(2) != nil {
                    guard let v = try constant(2).scalar else { throw refuse("the pad value must be a scalar") }
                    value = v
                }
            }
            let x = try fourD(0)
            guard pads.count == 8, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0, pads.allSatisfy({ $0 >= 0 }) else {
                throw refuse("pads \(pads): Graft pads the two spatial axes of N×C×H×W by non-negative amounts only")
            }
            let spatial = [pads[2], pads[3], pads[6], pads[7]]
            if spatial.allSatisfy({ $0 == 0 }) { t.bind(output, x); return }
            t.set(output, .pendingPad(source: node.input[0], shape: x.1, pads: spatial, value: value))
        }

        func linearInput(_ i: Int) throws -> (String, [Int]) {
            let x = try tensor(i)
            guard x.1.count == 2 else { throw refuse("needs N×F features (flatten first), got shape \(x.1)") }
            return x
        }

        func gemm() throws {
            guard int("transA", default: 0) == 0 else {
                throw refuse(attribute: "transA", "1", "the first operand is the batch of features; transposing it mixes samples")
            }
            let x = try linearInput(0)
            let b = try constant(1)
            guard let values = b.floats, b.shape.count == 2 else { throw refuse("the weights must be a 2-D float constant") }
            let alpha = float("alpha", default: 1), beta = float("beta", default: 1)
            let transB = int("transB", default: 0) != 0
            let (out, inFeatures) = transB ? (b.shape[0], b.shape[1]) : (b.shape[1], b.shape[0])
            guard inFeatures == x.1[1] else { throw refuse("weights \(b.shape) do not take \(x.1[1]) features") }
            var weight = transB ? values : transposed(values, rows: b.shape[0], columns: b.shape[1])
            if alpha != 1 { weight = weight.map { $0 * alpha } }
            var params = ["weight": Tensor(shape: [out, inFeatures], scalars: weight)]
            if input(2) != nil {
                let c = try constant(2)
                guard let bias = c.floats, c.count == out || c.count == 1, c.shape.count <= 1 || c.shape[0] == 1 else {
                    throw refuse("the bias of shape \(c.shape) is not a vector of \(out) (a per-sample bias depends on the batch)")
                }
                params["bias"] = Tensor(shape: [out], scalars: (c.count == 1 ? Array(repeating: bias[0], count: out) : bias).map { $0 * beta })
            }
            try emit("Linear", ["in_features": .int(inFeatures), "out_features": .int(out), "bias": .bool(params["bias"] != nil)],
                     inputs: [x.0], weights: params)
        }

        func matMul() throws {
            let x = try linearInput(0)
            let b = try constant(1)
            guard let values = b.floats, b.shape.count == 2, b.shape[0] == x.1[1] else {
                throw refuse("MatMul needs a constant K×M float matrix for \(x.1[1]) features, got \(b.shape)")
            }
            try emit("Linear", ["in_features": .int(b.shape[0]), "out_features": .int(b.shape[1]), "bias": .bool(false)],
                     inputs: [x.0],
                     weights: ["weight": Tensor(shape: [b.shape[1], b.shape[0]],
                                                scalars: transposed(values, rows: b.shape[0], columns: b.shape[1]))])
        }

        func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
            var out = [Float](repeating: 0, count: values.count)
            for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = values[r * columns + c] } }
            return out
        }

        func softmax() throws {
            let x = try tensor(0)
            let axis = int("axis", default: opset >= 13 ? -1 : 1)
            let dim = axis < 0 ? axis + x.1.count : axis
            guard dim >= 1, dim < x.1.count else { throw refuse(attribute: "axis", "\(axis)", "softmax over the batch is not supported") }
            // before opset 13 the input was flattened to 2-D at `axis`: the same as dim `axis` only for 2-D inputs
            guard opset >= 13 || x.1.count == 2 || dim == x.1.count - 1 else {
                throw refuse(attribute: "axis", "\(axis)", "opset \(opset) softmax of a \(x.1.count)-D tensor flattens it; export with opset ≥ 13")
            }
            try emit("Softmax", dim == 1 ? [:] : ["dim": .int(dim)], inputs: [x.0])
        }
    }
}
