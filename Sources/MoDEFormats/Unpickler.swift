/// A restricted pickle reader (protocols 2–5) for what torch.save writes: plain containers,
/// scalars, strings, and tensors rebuilt from persistent storage ids. It imports and calls
/// nothing: GLOBAL accepts only the names in `PickleGlobal`, REDUCE of one of them builds an inert
/// value, and every other opcode is refused by name.
///
/// Resources are bounded by the input: strings and bytes are read from it, the stack and the
/// memo grow by at most one value per opcode (and are capped at the input's length), and the
/// reader is iterative. Call `release()` when done with the result, to take apart the nodes
/// without recursion.
final class Unpickler {
    private let path: String
    private let input: UnsafeRawBufferPointer
    private var pos = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var nodes: [PickleNode] = []
    private var opStart = 0

    init(_ input: UnsafeRawBufferPointer, path: String) {
        self.input = input
        self.path = path
    }

    /// Takes apart every node made, so that releasing them cannot recurse deeply.
    func release() {
        for n in nodes { n.clear() }
        nodes = []
        stack = []
        memo = [:]
    }

    private func fail(_ reason: String) -> TorchCheckpointError {
        TorchCheckpointError(path: path, .pickle(offset: opStart, reason: reason))
    }

    private func node(_ kind: PickleNode.Kind, _ items: [PickleValue] = []) -> PickleValue {
        let n = PickleNode(kind, items)
        nodes.append(n)
        return .node(n)
    }

    // MARK: reading the input

    private func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= input.count - pos else { throw fail("needs \(n) bytes but \(input.count - pos) remain") }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: input[pos..<(pos + n)])
    }

    private func uint(_ n: Int) throws -> UInt64 {
        let b = try bytes(n)
        var v: UInt64 = 0
        for i in stride(from: n - 1, through: 0, by: -1) { v = v << 8 | UInt64(b[i]) }
        return v
    }

    /// A length field of `n` bytes, which must fit in the rest of the input.
    private func length(_ n: Int) throws -> Int {
        let v = try uint(n)
        guard v <= UInt64(input.count - pos) else { throw fail("length \(v) runs past the end of the pickle") }
        return Int(v)
    }

    private func text(_ n: Int) throws -> String {
        guard let s = String(validating: try bytes(n), as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }

    /// A newline-terminated ASCII line (GLOBAL's operands).
    private func line() throws -> String {
        guard let nl = input[pos..<min(input.count, pos + 1024)].firstIndex(of: 0x0A) else { throw fail("GLOBAL name is not a short line") }
        let s = try text(nl - pos)
        pos += 1
        return s
    }

    // MARK: the stack

    private func push(_ v: PickleValue) throws {
        guard stack.count < input.count else { throw fail("stack deeper than the pickle is long") }
        stack.append(v)
    }

    private func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.popLast() else { throw fail("stack underflow") }
        return v
    }

    private func top() throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
        return v
    }

    /// The values pushed since the last MARK (removed with the mark).
    private func popToMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no MARK on the stack") }
        defer { stack.removeSubrange(m...) }
        return Array(stack[m...])
    }

    private func remember(_ index: Int) throws {
        guard memo.count < input.count || memo[index] != nil else { throw fail("memo larger than the pickle is long") }
        memo[index] = try top()
    }

    private func recall(_ index: Int) throws {
        guard let v = memo[index] else { throw fail("memo key \(index) was never stored") }
        try push(v)
    }

    // MARK: the machine

    /// Reads the pickle up to STOP and returns its value.
    func load() throws -> PickleValue {
        while true {
            opStart = pos
            let op = try bytes(1)[0]
            switch op {
            case 0x80:  // PROTO
                let v = try uint(1)
                guard v >= 2 && v <= 5 else { throw fail("pickle protocol \(v) (2 to 5 are supported)") }
            case 0x95: _ = try length(8)  // FRAME: a length hint; data follows inline
            case 0x2E: return try pop()  // STOP
            case 0x28:  // MARK
                guard marks.count < input.count else { throw fail("too many MARKs") }
                marks.append(stack.count)
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popToMark()  // POP_MARK
            case 0x32: try push(try top())  // DUP
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
            case 0x4B: try push(.int(Int(try uint(1))))  // BININT1
            case 0x4D: try push(.int(Int(try uint(2))))  // BININT2
            case 0x8A: try push(try long(try length(1)))  // LONG1
            case 0x8B: try push(try long(try length(4)))  // LONG4
            case 0x47: try push(.float(Double(bitPattern: try uint(8).byteSwapped)))  // BINFLOAT (big-endian)
            case 0x8C: try push(.string(try text(try length(1))))  // SHORT_BINUNICODE
            case 0x58: try push(.string(try text(try length(4))))  // BINUNICODE
            case 0x8D: try push(.string(try text(try length(8))))  // BINUNICODE8
            case 0x43: try push(.bytes(Array(try bytes(try length(1)))))  // SHORT_BINBYTES
            case 0x42: try push(.bytes(Array(try bytes(try length(4)))))  // BINBYTES
            case 0x8E: try push(.bytes(Array(try bytes(try length(8)))))  // BINBYTES8
            case 0x29: try push(node(.tuple))  // EMPTY_TUPLE
            case 0x74: try push(node(.tuple, try popToMark()))  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                var items: [PickleValue] = []
                for _ in 0..<Int(op - 0x84) { items.append(try pop()) }
                try push(node(.tuple, items.reversed()))
            case 0x5D: try push(node(.list))  // EMPTY_LIST
            case 0x61:  // APPEND
                let v = try pop()
                try list().items.append(v)
            case 0x65:  // APPENDS
                let vs = try popToMark()
                try list().items.append(contentsOf: vs)
            case 0x7D: try push(node(.dict))  // EMPTY_DICT
            case 0x73:  // SETITEM
                let v = try pop(), k = try pop()
                try dict().set(k, v)
            case 0x75:  // SETITEMS
                let kvs = try popToMark()
                guard kvs.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
                let d = try dict()
                for i in stride(from: 0, to: kvs.count, by: 2) { d.set(kvs[i], kvs[i + 1]) }
            case 0x71: try remember(Int(try uint(1)))  // BINPUT
            case 0x72: try remember(Int(try uint(4)))  // LONG_BINPUT
            case 0x94: try remember(memo.count)  // MEMOIZE
            case 0x68: try recall(Int(try uint(1)))  // BINGET
            case 0x6A: try recall(Int(try uint(4)))  // LONG_BINGET
            case 0x63:  // GLOBAL
                let module = try line(), name = try line()
                try push(.global(try global(module, name)))
            case 0x93:  // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard let module = m.string, let name = n.string else { throw fail("STACK_GLOBAL needs two strings") }
                try push(.global(try global(module, name)))
            case 0x52:  // REDUCE
                let args = try pop(), f = try pop()
                try push(try reduce(f, args))
            case 0x81:  // NEWOBJ
                let args = try pop(), cls = try pop()
                guard case .global(.orderedDict) = cls else { throw fail("NEWOBJ of \(cls.kindName) (only OrderedDict is allowed)") }
                try push(try reduce(cls, args))
            case 0x62:  // BUILD: only a dict's instance state (OrderedDict's _metadata), which is kept aside
                let state = try pop()
                guard case .node(let n) = try top(), n.kind == .dict else { throw fail("BUILD on a \(try top().kindName)") }
                guard case .node = state else { throw fail("BUILD with a \(state.kindName) state") }
            case 0x51: try push(try persistent(try pop()))  // BINPERSID
            default:
                throw TorchCheckpointError(path: path, .opcode(offset: opStart, code: op, name: Self.opcodeName(op)))
            }
        }
    }

    private func list() throws -> PickleNode {
        guard case .node(let n) = try top(), n.kind == .list else { throw fail("APPEND to a \(try top().kindName)") }
        return n
    }

    private func dict() throws -> PickleNode {
        guard case .node(let n) = try top(), n.kind == .dict else { throw fail("SETITEM on a \(try top().kindName)") }
        return n
    }

    /// LONG1/LONG4: little-endian two's complement of `n` bytes.
    private func long(_ n: Int) throws -> PickleValue {
        let b = try bytes(n)
        guard n > 0 else { return .int(0) }
        let negative = b[n - 1] & 0x80 != 0
        // Bytes beyond the eighth must only extend the sign.
        for i in min(n, 8)..<n where b[i] != (negative ? 0xFF : 0) { return .bigInt }
        if n > 8 && (b[7] & 0x80 != 0) != negative { return .bigInt }
        var v: UInt64 = negative ? ~0 : 0
        for i in stride(from: min(n, 8) - 1, through: 0, by: -1) { v = v << 8 | UInt64(b[i]) }
        return .int(Int(Int64(bitPattern: v)))
    }

    private func global(_ module: String, _ name: String) throws -> PickleGlobal {
        guard let g = PickleGlobal.named(module, name) else {
            throw TorchCheckpointError(path: path, .refusedGlobal("\(module).\(name)"))
        }
        return g
    }

    /// Persistent id `('storage', <storage type>, key, location, numel)` → a storage reference.
    private func persistent(_ pid: PickleValue) throws -> PickleValue {
        guard let t = pid.elements, t.count == 5, t[0].string == "storage",
              case .global(.storageType(_, let dtype)) = t[1], let key = t[2].string, t[3].string != nil,
              let count = t[4].int else {
            throw fail("persistent id is not ('storage', <storage type>, key, location, numel)")
        }
        guard count >= 0 else { throw fail("storage \(key) declares \(count) elements") }
        guard !key.isEmpty, !key.contains("/"), !key.contains("\0"), key != ".", key != ".." else {
            throw fail("storage key \"\(key)\" is not a plain name")
        }
        return .storage(TorchStorageRef(key: key, dtype: dtype, count: count))
    }

    /// REDUCE of an allowed global: the inert value it stands for. Nothing is called.
    private func reduce(_ f: PickleValue, _ argsValue: PickleValue) throws -> PickleValue {
        guard case .global(let g) = f else { throw fail("REDUCE of a \(f.kindName)") }
        guard let args = argsValue.elements, argsValue.dict == nil else { throw fail("\(g.qualifiedName) called without an argument tuple") }
        switch g {
        case .orderedDict:
            let d = node(.dict)
            guard args.isEmpty else { throw fail("OrderedDict called with arguments") }
            return d
        case .size:
            guard args.count == 1, let items = args[0].elements, items.allSatisfy({ $0.int != nil }) else {
                throw fail("torch.Size needs a tuple of ints")
            }
            return node(.tuple, items)
        case .rebuildTensor:
            guard args.count == 6 || args.count == 7, case .storage(let s) = args[0], let offset = args[1].int,
                  let shape = args[2].elements?.compactMap(\.int), shape.count == args[2].elements?.count,
                  let strides = args[3].elements?.compactMap(\.int), strides.count == args[3].elements?.count else {
                throw fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, requires_grad, hooks)")
            }
            return .tensor(TorchTensorRef(storage: s, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter, .rebuildParameterWithState:
            guard args.count == (g == .rebuildParameter ? 3 : 4), case .tensor = args[0] else {
                throw fail("\(g.qualifiedName) needs (tensor, requires_grad, hooks)")
            }
            return args[0]
        case .rebuildFromType:
            guard args.count == 4, case .global(.tensorType) = args[1] else {
                throw fail("_rebuild_from_type_v2 needs (function, torch.Tensor or Parameter, args, state)")
            }
            let v = try reduce(args[0], args[2])
            guard case .tensor = v else { throw fail("_rebuild_from_type_v2 did not rebuild a tensor") }
            return v
        case .tensorType, .storageType:
            throw TorchCheckpointError(path: path, .refusedGlobal(g.qualifiedName))
        }
    }

    /// The pickletools name of an opcode outside the supported set.
    static func opcodeName(_ op: UInt8) -> String {
        let names: [UInt8: String] = [
            0x49: "INT", 0x4C: "LONG", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
            0x56: "UNICODE", 0x46: "FLOAT", 0x70: "PUT", 0x67: "GET", 0x64: "DICT", 0x6C: "LIST",
            0x69: "INST", 0x6F: "OBJ", 0x50: "PERSID", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
            0x92: "NEWOBJ_EX", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
            0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
        ]
        return names[op] ?? "unknown"
    }
}
