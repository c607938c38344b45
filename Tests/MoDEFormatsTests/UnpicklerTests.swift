import Testing
@testable import MoDEFormats

/// Hand-assembled pickles (opcodes from Python's pickletools documentation) through the
/// restricted unpickler.
@Suite struct UnpicklerTests {
    static func load(_ bytes: [UInt8]) throws -> (PickleValue, Unpickler) {
        try bytes.withUnsafeBytes { raw in
            let u = Unpickler(raw, path: "test.pkl")
            return (try u.load(), u)
        }
    }

    static func u(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }

    @Test func integersOfEveryWidth() throws {
        // (1, 0x1234, -2, -1 (LONG1), 2^63-1 (LONG1 8 bytes), 2^64 (LONG1 9 bytes), 0 (LONG1 0 bytes))
        let p: [UInt8] = [0x80, 2, 0x28, 0x4B, 1, 0x4D, 0x34, 0x12, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x8A, 1, 0xFF,
                          0x8A, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F,
                          0x8A, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x8A, 0, 0x74, 0x2E]
        let (v, un) = try Self.load(p)
        defer { un.release() }
        let items = try #require(v.elements)
        #expect(items.prefix(5).map(\.int) == [1, 0x1234, -2, -1, Int.max])
        guard case .bigInt = items[5] else { Issue.record("2^64 is not a big int: \(items[5])"); return }
        #expect(items[6].int == 0)
    }

    @Test func floatsAndStrings() throws {
        // (1.5 as BINFLOAT (big-endian), "héllo" as BINUNICODE, b"\x00\x01" as SHORT_BINBYTES, True, None)
        let p: [UInt8] = [0x80, 4, 0x28, 0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 0x58, 6, 0, 0, 0] + Array("héllo".utf8)
            + [0x43, 2, 0, 1, 0x88, 0x4E, 0x74, 0x2E]
        let (v, un) = try Self.load(p)
        defer { un.release() }
        let items = try #require(v.elements)
        guard case .float(1.5) = items[0], case .string("héllo") = items[1], case .bytes([0, 1]) = items[2],
              case .bool(true) = items[3], case .none = items[4] else {
            Issue.record("decoded \(items)")
            return
        }
    }

    /// A dict memoized while empty and filled afterwards is the same object when fetched again (BINGET).
    @Test func memoSharesMutableContainers() throws {
        // d = {}; memo[0] = d; d["a"] = 1; [d, memo[0]]
        let p: [UInt8] = [0x80, 2, 0x7D, 0x71, 0] + Self.u("a") + [0x4B, 1, 0x73, 0x5D, 0x71, 1, 0x28, 0x68, 0, 0x68, 0, 0x65, 0x2E]
        // Stack after SETITEM: [d]; then EMPTY_LIST, MARK, d, d, APPENDS → list [d, d] on top of d.
        let (v, un) = try Self.load(p)
        defer { un.release() }
        let items = try #require(v.elements)
        #expect(items.count == 2)
        #expect(items[1].dict?["a"]?.int == 1)
    }

    /// 100,000 lists nested through the memo: built and released without deep recursion.
    @Test func deepNestingIsReleasedIteratively() throws {
        var p: [UInt8] = [0x80, 2, 0x5D, 0x71, 1, 0x71, 0]
        for _ in 0..<100_000 { p += [0x5D, 0x71, 0, 0x61, 0x30, 0x68, 0] }  // new list; memo 0; append; pop; get
        p += [0x30, 0x68, 1, 0x2E]
        let (v, un) = try Self.load(p)
        #expect(v.elements?.count == 1)
        un.release()
    }

    @Test func refusesOpcodesOutsideTheSetByName() throws {
        for (op, name) in [(UInt8(0x53), "STRING"), (0x69, "INST"), (0x6F, "OBJ"), (0x92, "NEWOBJ_EX"), (0x8F, "EMPTY_SET"), (0x50, "PERSID")] {
            #expect(throws: TorchCheckpointError(path: "test.pkl", .opcode(offset: 2, code: op, name: name))) {
                _ = try Self.load([0x80, 2, op, 0x2E])
            }
        }
    }

    @Test func refusesGlobalsOutsideTheAllowList() throws {
        for (module, name) in [("posix", "system"), ("builtins", "exec"), ("torch", "load"), ("torch._utils", "_rebuild_qtensor"), ("__torch__", "Model")] {
            let p: [UInt8] = [0x80, 2, 0x63] + Array("\(module)\n\(name)\n".utf8) + [0x2E]
            #expect(throws: TorchCheckpointError(path: "test.pkl", .refusedGlobal("\(module).\(name)"))) { _ = try Self.load(p) }
        }
        // An allowed storage class may name a persistent id's type, but is never called.
        let call: [UInt8] = [0x80, 2, 0x63] + Array("torch\nFloatStorage\n".utf8) + [0x29, 0x52, 0x2E]
        #expect(throws: TorchCheckpointError(path: "test.pkl", .refusedGlobal("torch.FloatStorage"))) { _ = try Self.load(call) }
    }

    @Test func malformedInputThrows() {
        let cases: [[UInt8]] = [
            [], [0x80], [0x80, 9, 0x2E], [0x80, 2, 0x30, 0x2E], [0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F],
            [0x80, 2, 0x68, 5, 0x2E], [0x80, 2, 0x28, 0x4B, 1, 0x30, 0x30, 0x2E], [0x80, 2, 0x4B, 1, 0x61, 0x2E],
            [0x80, 2, 0x8C, 2, 0xC3, 0x28, 0x2E], [0x80, 2, 0x4E, 0x4E],
        ]
        for c in cases {
            #expect(throws: TorchCheckpointError.self, "\(c)") { _ = try Self.load(c) }
        }
    }
}

@Suite struct TorchCheckpointExtrasTests {
    /// A list holding itself 50,000 times, under a non-state-dict key: converting it to plain
    /// values stops at the value budget instead of expanding 50,000^32 elements.
    @Test func selfReferencesAreBounded() throws {
        func u(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
        var p: [UInt8] = [0x80, 2, 0x7D] + u("state_dict") + [0x7D, 0x73] + u("loop") + [0x5D, 0x71, 0, 0x28]
        for _ in 0..<50_000 { p += [0x68, 0] }
        p += [0x65, 0x73, 0x2E]
        let f = try TorchCheckpointFile(MappedFile(path: "loop.pt", contents: storedZip([("archive/data.pkl", p)])))
        #expect(f.names.isEmpty)
        guard case .list(let items)? = f.extras["loop"] else {
            Issue.record("no loop: \(String(describing: f.extras["loop"]))")
            return
        }
        #expect(!items.isEmpty)
    }
}
