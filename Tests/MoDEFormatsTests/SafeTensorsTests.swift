import Foundation
import Testing
import TestSupport
@testable import MoDENN
import MoDETensor
@testable import MoDEFormats

/// Bit pattern of each Float32 element as stored (F32) or the raw 16-bit words (F16/BF16).
private func words16(_ raw: UnsafeRawBufferPointer) -> [UInt16] {
    (0..<raw.count / 2).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
}

/// Float values compared by bit pattern (so NaN == NaN and -0 ≠ 0).
private func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

@Suite struct HalfFloatTests {
    // Hand-computed IEEE binary16 encodings (round to nearest, ties to even).
    static let f16Cases: [(Float, UInt16)] = [
        (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2.5, 0xC100),
        (0.1, 0x2E66),                      // 1.6·2^-4: mantissa 614.4 → 614
        (1.0 / 3.0, 0x3555),
        (65504, 0x7BFF), (65519, 0x7BFF),   // largest finite; 65519 < 65520 (the midpoint to 2^16)
        (65520, 0x7C00), (1e6, 0x7C00), (-1e6, 0xFC00),
        (0x1p-14, 0x0400),                  // smallest normal
        (0x1p-24, 0x0001),                  // smallest subnormal
        (0x1p-25, 0x0000),                  // tie between 0 and 2^-24 → even (0)
        (0x1.8p-25, 0x0001), (0x1p-26, 0x0000),
        (0x1.8p-24, 0x0002),                // 1.5 units: tie between 1 and 2 → even (2)
        (0x1.3p-20, 0x0013),                // exactly 19 subnormal units
        (1 + 0x1p-11, 0x3C00),              // tie → even mantissa 0
        (1 + 0x1.8p-10, 0x3C02),            // 1.5 ulps: tie between 1 and 2 → 2
        ((1 + 0x1p-11).nextUp, 0x3C01),      // just above the tie
        (0x1p-14 - 0x1p-25, 0x0400),        // 1023.5 subnormal units → 1024: rounds up into the normals
        (0x1.ff8p-15, 0x03FF),              // largest subnormal (1023 units)
        (0x1.ffcp-15, 0x0400),              // 1023.5 units: tie → even (1024)
        (.infinity, 0x7C00), (-.infinity, 0xFC00),
        (.nan, 0x7E00), (-Float.nan, 0xFE00),
    ]

    @Test func f16EncodingMatchesHandComputedBits() {
        for (x, expected) in Self.f16Cases {
            #expect(HalfFloat.floatToF16(x) == expected, "F16 of \(x) (0x\(String(x.bitPattern, radix: 16)))")
        }
    }

    // Hand-computed bfloat16 encodings (the top 16 bits of Float32, rounded to nearest even).
    static let bf16Cases: [(Float, UInt16)] = [
        (0, 0x0000), (-0.0, 0x8000), (1, 0x3F80), (-2.5, 0xC020),
        (0.1, 0x3DCD),                      // 0x3DCCCCCD: low half 0xCCCD > 0x8000 rounds up
        (1.0 / 3.0, 0x3EAB),                // 0x3EAAAAAB
        (1 + 0x1p-8, 0x3F80),               // 0x3F808000: tie → even
        (1 + 0x1.8p-7, 0x3F82),             // 0x3F818000: tie, odd 0x3F81 → 0x3F82
        (.greatestFiniteMagnitude, 0x7F80), // rounds up to infinity
        (0x1.fep127, 0x7F7F),               // bf16's largest finite
        (Float(bitPattern: 0x0001_16C2), 0x0001), // 1e-40, subnormal
        (-0x1p-149, 0x8000),                // rounds to -0
        (0x1p-126, 0x0080),
        (.infinity, 0x7F80), (-.infinity, 0xFF80),
        (.nan, 0x7FC0), (-Float.nan, 0x7FC0), // PyTorch's scalar conversion gives this quiet NaN
    ]

    @Test func bf16EncodingMatchesHandComputedBits() {
        for (x, expected) in Self.bf16Cases {
            #expect(HalfFloat.floatToBF16(x) == expected, "BF16 of \(x) (0x\(String(x.bitPattern, radix: 16)))")
        }
    }

    @Test func f16DecodingMatchesHandComputedValues() {
        let cases: [(UInt16, UInt32)] = [
            (0x0000, 0x0000_0000), (0x8000, 0x8000_0000), (0x3C00, 0x3F80_0000),
            (0x0001, 0x3380_0000),  // 2^-24
            (0x8001, 0xB380_0000),
            (0x03FF, 0x387F_C000),  // 1023·2^-24
            (0x0400, 0x3880_0000),  // 2^-14
            (0x7BFF, 0x477F_E000),  // 65504
            (0x7C00, 0x7F80_0000), (0xFC00, 0xFF80_0000),
            (0x7E00, 0x7FC0_0000),  // quiet NaN
            (0x7C01, 0x7F80_2000),  // signalling NaN: payload kept
            (0x3555, 0x3EAA_A000),  // 0.333251953125
        ]
        for (h, expected) in cases {
            #expect(HalfFloat.f16ToFloat(h).bitPattern == expected, "F16 0x\(String(h, radix: 16))")
        }
        #expect(HalfFloat.bf16ToFloat(0x3F80) == 1)
        #expect(HalfFloat.bf16ToFloat(0x0001).bitPattern == 0x0001_0000)
        #expect(HalfFloat.bf16ToFloat(0xFF80) == -.infinity)
    }

    @Test func everyF16RoundTripsThroughFloat() {
        for h in 0...UInt16.max {
            let x = HalfFloat.f16ToFloat(h)
            let back = HalfFloat.floatToF16(x)
            if x.isNaN {
                #expect(back == (h & 0x8000) | 0x7E00)
            } else if back != h {
                Issue.record("F16 0x\(String(h, radix: 16)) → \(x) → 0x\(String(back, radix: 16))")
            }
        }
    }

    /// Every tie and its neighbours for each pair of adjacent finite F16 values, and many random
    /// Float32 values, against Swift's own Float16 conversion (an independent implementation).
    @Test func f16EncodingAgreesWithNativeFloat16() {
        #if !(os(macOS) && arch(x86_64))
        func check(_ x: Float) {
            let mine = HalfFloat.floatToF16(x)
            let native = Float16(x).bitPattern
            if mine != native { Issue.record("F16 of \(x) (0x\(String(x.bitPattern, radix: 16))): 0x\(String(mine, radix: 16)) vs native 0x\(String(native, radix: 16))") }
        }
        for h in UInt16(0)..<0x7C00 {
            let lo = HalfFloat.f16ToFloat(h), hi = HalfFloat.f16ToFloat(h + 1)
            let mid = (lo + hi) / 2  // exact: adjacent F16 values differ in few bits
            for x in [mid, mid.nextUp, mid.nextDown] { check(x); check(-x) }
        }
        var rng = SeededRNG(seed: 7)
        for _ in 0..<100_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if !x.isNaN { check(x) }
        }
        #endif
    }

    /// Random Float32 values against a reference that picks the nearer of the two bracketing
    /// BF16 values in Double arithmetic (ties to the even one).
    @Test func bf16EncodingAgreesWithReference() {
        var rng = SeededRNG(seed: 11)
        for k in 0..<100_000 {
            // Every 4th value is an exact tie, the rest random bit patterns.
            var b = UInt32(truncatingIfNeeded: rng.next())
            if k % 4 == 0 { b = (b & 0xFFFF_0000) | 0x8000 }
            let x = Float(bitPattern: b)
            if x.isNaN { continue }
            let down = UInt16(b >> 16)
            let up = down &+ 1
            let dLo = abs(Double(x) - Double(HalfFloat.bf16ToFloat(down)))
            let upValue = Double(HalfFloat.bf16ToFloat(up))
            // Past the largest finite value the next step is 2^128 (which rounds to infinity).
            let dHi = abs((upValue.isInfinite ? (b >> 31 == 0 ? 0x1p128 : -0x1p128) : upValue) - Double(x))
            let expected: UInt16 = dLo < dHi ? down : dHi < dLo ? up : (down & 1 == 0 ? down : up)
            if HalfFloat.floatToBF16(x) != expected {
                Issue.record("BF16 of 0x\(String(b, radix: 16)): 0x\(String(HalfFloat.floatToBF16(x), radix: 16)) vs 0x\(String(expected, radix: 16))")
            }
        }
    }
}

@Suite struct SafeTensorsTests {
    @Test func roundTripsEveryDType() throws {
        let dir = try TempDirectory()
        let path = dir.file("all.safetensors")
        let values: [Float] = [0, -1.5, 3.25, 0.375, -7, 65504]
        let t = Tensor(shape: [2, 3], values: values)
        var w = SafeTensorsWriter()
        w.add("f32", t)
        w.add("f16", t, as: .f16)
        w.add("bf16", t, as: .bf16)
        w.add("f64", t, as: .f64)
        w.add("i64", int64s: [.min, -1, 0, 1, .max, 1 << 40], shape: [3, 2])
        w.add("i32", int32s: [.min, -1, 0, .max], shape: [4])
        w.add("u8", bytes: [0, 255, 3], dtype: .u8, shape: [3])
        w.add("i8", bytes: [0x80, 0xFF, 3], dtype: .i8, shape: [3])
        w.add("i16", bytes: [0x00, 0x80, 0xFF, 0x7F], dtype: .i16, shape: [2])
        w.add("u16", bytes: [0xFF, 0xFF], dtype: .u16, shape: [1])
        w.add("u32", bytes: [0xFF, 0xFF, 0xFF, 0xFF], dtype: .u32, shape: [1])
        w.add("u64", bytes: [UInt8](repeating: 0xFF, count: 8), dtype: .u64, shape: [1])
        w.add("bool", bytes: [1, 0, 1, 1], dtype: .bool, shape: [2, 2])
        w.add("f8e5m2", bytes: [0x3C, 0xC0, 0x7C, 0x01], dtype: .f8e5m2, shape: [4])
        w.add("f8e4m3", bytes: [0x38, 0xC0, 0x7F, 0x01, 0x7E], dtype: .f8e4m3, shape: [5])
        w.add("scalar", Tensor(shape: [], values: [42]))
        w.add("empty", Tensor(shape: [0, 4]))
        try w.write(to: path)

        let f = try SafeTensorsFile(path: path)
        #expect(f.names == w.tensorNames)
        #expect(f.metadata.isEmpty)
        #expect(f.info("f32") == TensorInfo(dtype: .f32, shape: [2, 3], dataOffsets: 0..<24))
        #expect(f.info("f16")?.byteCount == 12)
        #expect(f.info("scalar")?.shape == [] && f.info("scalar")?.elementCount == 1)
        #expect(f.info("empty")?.elementCount == 0 && f.info("empty")?.byteCount == 0)
        #expect(f.info("nope") == nil && !f.contains("nope") && f.contains("u8"))

        #expect(try f.tensor("f32").array == values)
        #expect(try f.tensor("f32").shape == [2, 3])
        #expect(try f.tensor("f64").array == values)  // Float → Double → Float is exact
        // All six values are exact in F16; BF16 keeps 8 significant bits (65504 → 65536).
        #expect(try f.tensor("f16").array == values)
        #expect(bits(try f.tensor("bf16").array) == bits(values.map { HalfFloat.bf16ToFloat(HalfFloat.floatToBF16($0)) }))
        #expect(try f.tensor("bf16")[5] == 65536)
        #expect(try f.int64s("i64") == [.min, -1, 0, 1, .max, 1 << 40])
        #expect(try f.int32s("i32") == [.min, -1, 0, .max])
        #expect(try f.int64s("i32") == [Int64(Int32.min), -1, 0, Int64(Int32.max)])
        #expect(try f.int64s("u8") == [0, 255, 3])
        #expect(try f.int32s("i8") == [-128, -1, 3])
        #expect(try f.int64s("i16") == [-32768, 32767])
        #expect(try f.int64s("u16") == [65535])
        #expect(try f.int64s("u32") == [4_294_967_295])
        #expect(try f.int64s("bool") == [1, 0, 1, 1])
        #expect(try f.tensor("bool").array == [1, 0, 1, 1])
        #expect(try f.tensor("i8").array == [-128, -1, 3])
        #expect(try f.tensor("u64").array == [Float(UInt64.max)])
        #expect(try f.tensor("f8e5m2").array == [1, -2, .infinity, 0x1p-16])
        let e4m3 = try f.tensor("f8e4m3").array
        #expect(e4m3[0] == 1 && e4m3[1] == -2 && e4m3[2].isNaN && e4m3[3] == 0x1p-9 && e4m3[4] == 448)
        #expect(try f.tensor("f8e4m3").shape == [5])
        #expect(try f.tensor("scalar").array == [42])
        #expect(try f.tensor("empty").shape == [0, 4])
        #expect(Array(try f.rawBytes("u8")) == [0, 255, 3])
        #expect(try f.rawBytes("empty").count == 0)
    }

    @Test func f8e4m3DecodesNaN() {
        #expect(SafeTensorsFile.f8e4m3ToFloat(0x7F).isNaN)
        #expect(SafeTensorsFile.f8e4m3ToFloat(0xFF).isNaN)
        #expect(SafeTensorsFile.f8e4m3ToFloat(0x7E) == 448)
    }

    @Test func conversionErrorsNameFileAndTensor() throws {
        let dir = try TempDirectory()
        let path = dir.file("e.safetensors")
        var w = SafeTensorsWriter()
        w.add("big", int64s: [1 << 40], shape: [1])
        w.add("u64", bytes: [UInt8](repeating: 0xFF, count: 8), dtype: .u64, shape: [1])
        w.add("x", Tensor(shape: [1]))
        try w.write(to: path)
        let f = try SafeTensorsFile(path: path)
        func expectError(_ problem: SafeTensorsError.Problem, file: String = path, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("expected \(problem)")
            } catch let e as SafeTensorsError {
                #expect(e.problem == problem)
                #expect(e.path == file && e.description.hasPrefix(file + ": "))
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        expectError(.missingTensor(name: "nope")) { _ = try f.tensor("nope") }
        expectError(.missingTensor(name: "nope")) { _ = try f.rawBytes("nope") }
        expectError(.missingTensor(name: "nope")) { _ = try f.int64s("nope") }
        expectError(.valueOutOfRange(name: "big", index: 0, to: "Int32")) { _ = try f.int32s("big") }
        expectError(.valueOutOfRange(name: "u64", index: 0, to: "Int64")) { _ = try f.int64s("u64") }
        expectError(.unsupportedConversion(name: "x", dtype: .f32, to: "Int64")) { _ = try f.int64s("x") }
        var into: [Float] = [7, 7]
        expectError(.shapeMismatch(name: "x", expected: [2], actual: [1])) { try f.read("x", into: &into, shape: [2]) }
        expectError(.shapeMismatch(name: "x", expected: [1, 1], actual: [1])) { try f.read("x", into: &into, shape: [1, 1]) }
        try f.read("big", into: &into, shape: [1])
        #expect(into == [Float(1 << 40), 7])
        #expect(SafeTensorsError(path: path, .missingTensor(name: "nope")).description == "\(path): no tensor named \"nope\"")
        expectError(.notARegularFile, file: dir.path) { _ = try SafeTensorsFile(path: dir.path) }
        expectError(.system(operation: "open", code: ENOENT), file: dir.file("absent")) { _ = try SafeTensorsFile(path: dir.file("absent")) }
    }

    @Test func metadataAndHeaderLayout() throws {
        let dir = try TempDirectory()
        let path = dir.file("m.safetensors")
        var w = SafeTensorsWriter()
        w.add("zeta", Tensor(shape: [1], values: [1]))
        w.add("alpha", Tensor(shape: [3], values: [1, 2, 3]), as: .f16)
        w.add("mid", Tensor(shape: [1, 1], values: [5]))
        let meta = ["format": "pt", "quote\"back\\slash": "tab\tnew\nline\u{1}", "ünï": "😀 ok", "": ""]
        try w.write(to: path, metadata: meta)
        let f = try SafeTensorsFile(path: path)
        #expect(f.metadata == meta)
        #expect(f.names == ["zeta", "alpha", "mid"])  // data order = add order
        #expect(f.info("alpha")?.dataOffsets == 4..<10)

        // Header: padded with spaces to a multiple of 8, __metadata__ first, tensor keys sorted.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = Int(bytes[0..<8].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        #expect(n % 8 == 0)
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        #expect(header.hasPrefix("{\"__metadata__\":{\"\":\"\",\"format\":\"pt\","))
        let a = header.range(of: "\"alpha\"")!.lowerBound, m = header.range(of: "\"mid\"")!.lowerBound
        let z = header.range(of: "\"zeta\"")!.lowerBound
        #expect(a < m && m < z)
        #expect(header.hasSuffix("}") || header.hasSuffix(" "))
        #expect(bytes == w.serialized(metadata: meta))

        // No metadata: no __metadata__ key at all.
        #expect(!w.headerJSON(metadata: [:]).contains("__metadata__"))
        // An empty file (no tensors) is valid.
        try SafeTensorsWriter().write(to: path)
        let empty = try SafeTensorsFile(path: path)
        #expect(empty.names.isEmpty && empty.metadata.isEmpty)
    }

    /// A ~10 MB file written by the writer and read back through the memory map.
    @Test func largeFileRoundTrip() throws {
        let dir = try TempDirectory()
        let path = dir.file("big.safetensors")
        let n = 2_500_000
        let t = Tensor(shape: [n / 1000, 1000])
        for i in 0..<n { t.data[i] = Float(i % 9973) * 0.5 - 100 }
        var w = SafeTensorsWriter()
        w.add("small", int64s: [7], shape: [1])
        w.add("big", t)
        // Past the parallel-conversion threshold (2^16 elements): chunked conversions must agree with the scalar ones.
        let halves = Tensor(shape: [300_000])
        for i in 0..<halves.count { halves.data[i] = Float(i) * 0.37 - 5e4 }
        w.add("big_f16", halves, as: .f16)
        w.add("big_bf16", halves, as: .bf16)
        try w.write(to: path, metadata: ["what": "big"])
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(size > 10_000_000)
        let f = try SafeTensorsFile(path: path)
        let r = try f.tensor("big")
        #expect(r.shape == t.shape)
        #expect(memcmp(r.data, t.data, 4 * n) == 0)
        #expect(try f.int64s("small") == [7])
        #expect(try f.rawBytes("big").count == 4 * n)
        for (name, encode, decode) in [("big_f16", HalfFloat.floatToF16, HalfFloat.f16ToFloat),
                                       ("big_bf16", HalfFloat.floatToBF16, HalfFloat.bf16ToFloat)]
            as [(String, (Float) -> UInt16, (UInt16) -> Float)] {
            let stored = words16(try f.rawBytes(name))
            #expect(stored == halves.array.map(encode), "\(name) encoding")
            #expect(try f.tensor(name).array == stored.map(decode), "\(name) decoding")
        }
    }

    // MARK: Interop with the reference implementation

    /// Reads Fixtures/interop.safetensors (written by tools/make_safetensors_fixture.py with the
    /// `safetensors` Python library) and checks the known values.
    @Test func readsReferenceFile() throws {
        let f = try fixture("interop")
        #expect(f.metadata["generator"] == "make_safetensors_fixture.py")
        #expect(f.metadata["seed"] != nil && f.metadata["torch_version"] != nil)
        #expect(try f.tensor("f32").array == [0, 1, -2.5, 3.14159265, 0x1p-149, .greatestFiniteMagnitude])
        #expect(bits(try f.tensor("f32_special").array) == bits([.infinity, -.infinity, .nan, -0.0]))
        #expect(try f.int64s("i64") == [0, -1, (1 << 40) + 1, -(1 << 62), .max, .min])
        #expect(f.info("i64")?.shape == [2, 3])
        #expect(try f.int32s("i32") == [0, -1, .max, .min, 123456])
        #expect(try f.int64s("i16") == [-32768, 32767, 7])
        #expect(try f.int64s("i8") == [-128, 127, -3])
        #expect(try f.int64s("u8") == [0, 255, 17])
        #expect(try f.int64s("bool") == [1, 0, 1])
        #expect(try f.tensor("scalar").array == [42.5] && f.info("scalar")?.shape == [])
        #expect(try f.tensor("empty").shape == [0, 3])
        #expect(try f.tensor("f64").array == [0.1, .infinity, -2.5, 0])  // 1e300 overflows, 1e-310 underflows

        // Torch's F16/BF16 encodings of the sources match the hand-computed table entries.
        let f16 = try f.tensor("f16").array
        #expect(f16[4] == 0.0999755859375 && f16[5] == 0.333251953125 && f16[7] == 65504 && f16[8] == .infinity)
        #expect(f16[13] == 0 && f16[14] == 0x1p-24 && f16[16] == 0x1p-23 && f16[19] == 0x1p-14 && f16[22].isNaN)
        let bf16 = try f.tensor("bf16").array
        #expect(bf16[6] == 1 && bf16[7] == 1 + 0x1p-6 && bf16[8] == .infinity && bf16[15].isNaN)
    }

    /// The Swift F16/BF16 rounding is bit-identical to PyTorch's on the fixture's sources,
    /// including ~2000 random values spread over 50 binades.
    @Test func conversionsMatchPyTorchBitForBit() throws {
        let f = try fixture("interop")
        for (src, name, encode) in [("f16_src", "f16", HalfFloat.floatToF16), ("bf16_src", "bf16", HalfFloat.floatToBF16),
                                    ("rand_src", "rand_f16", HalfFloat.floatToF16), ("rand_src", "rand_bf16", HalfFloat.floatToBF16)]
            as [(String, String, (Float) -> UInt16)] {
            let source = try f.tensor(src).array
            let torch = words16(try f.rawBytes(name))
            let mine = source.map(encode)
            // NaN: torch's vectorised BF16 path writes 0xFFFF, its scalar path 0x7FC0; only NaN-ness is checked.
            for i in source.indices where mine[i] != torch[i] && !source[i].isNaN {
                Issue.record("\(name)[\(i)]: \(source[i]) → 0x\(String(mine[i], radix: 16)), torch 0x\(String(torch[i], radix: 16))")
            }
            // And decoding is exact: the value read equals the decoded torch bits.
            #expect(bits(try f.tensor(name).array) == bits(torch.map(name.hasSuffix("bf16") ? HalfFloat.bf16ToFloat : HalfFloat.f16ToFloat)))
        }
    }

    /// The writer reproduces the reference file's tensor bytes when given the same values
    /// (16-bit tensors from their Float32 sources). With SAFETENSORS_INTEROP_OUT set, the file is
    /// also written there for `tools/make_safetensors_fixture.py --verify`.
    @Test func writerOutputMatchesInterop() throws {
        let f = try fixture("interop")
        var w = SafeTensorsWriter()
        for name in f.names {
            let info = f.info(name)!
            switch info.dtype {
            case .f32, .f64: w.add(name, try f.tensor(name), as: info.dtype)
            case .f16, .bf16:
                let src = try f.tensor(name.hasPrefix("rand") ? "rand_src" : name + "_src")
                w.add(name, src.reshaped(info.shape), as: info.dtype)
            case .i64: w.add(name, int64s: try f.int64s(name), shape: info.shape)
            case .i32: w.add(name, int32s: try f.int32s(name), shape: info.shape)
            default: w.add(name, bytes: Array(try f.rawBytes(name)), dtype: info.dtype, shape: info.shape)
            }
        }
        let dir = try TempDirectory()
        let path = ProcessInfo.processInfo.environment["SAFETENSORS_INTEROP_OUT"] ?? dir.file("swift.safetensors")
        try w.write(to: path, metadata: ["writer": "swift"])
        let g = try SafeTensorsFile(path: path)
        #expect(g.names == f.names)
        for name in f.names where f.info(name)!.dtype != .f64 {
            if name == "bf16" {  // its NaN element differs in payload (see conversionsMatchPyTorchBitForBit)
                #expect(bits(try g.tensor(name).array.map { $0.isNaN ? .nan : $0 }) == bits(try f.tensor(name).array.map { $0.isNaN ? .nan : $0 }))
                continue
            }
            #expect(Array(try g.rawBytes(name)) == Array(try f.rawBytes(name)), "\(name)")
            #expect(g.info(name)?.shape == f.info(name)?.shape)
        }
        #expect(try g.tensor("f64").array == f.tensor("f64").array)
    }
}

