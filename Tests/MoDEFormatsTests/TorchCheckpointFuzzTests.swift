import Foundation
import Testing
@testable import MoDEFormats

/// A minimal stored zip (no ZIP64), for packing test pickles the way torch.save lays them out.
func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [], central: [UInt8] = []
    out.reserveCapacity(entries.reduce(64) { $0 + $1.1.count + 2 * $1.0.utf8.count + 100 })
    func put<T: FixedWidthInteger>(_ v: T, _ a: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { a.append(contentsOf: $0) } }
    for (name, data) in entries {
        let n = Array(name.utf8)
        let crc = data.withUnsafeBytes { ZipArchive.crc32($0) }
        let offset = UInt32(out.count)
        // Local header: signature, version 20, flags, method 0 (stored), time, date, CRC, sizes, name and extra lengths.
        put(UInt32(0x0403_4b50), &out)
        for v: UInt16 in [20, 0, 0, 0, 0] { put(v, &out) }
        for v: UInt32 in [crc, UInt32(data.count), UInt32(data.count)] { put(v, &out) }
        put(UInt16(n.count), &out); put(UInt16(0), &out)
        out += n + data
        // Central record: the same fields, then comment length, disk, attributes and the local header's offset.
        put(UInt32(0x0201_4b50), &central)
        for v: UInt16 in [20, 20, 0, 0, 0, 0] { put(v, &central) }
        for v: UInt32 in [crc, UInt32(data.count), UInt32(data.count)] { put(v, &central) }
        for v: UInt16 in [UInt16(n.count), 0, 0, 0, 0] { put(v, &central) }
        put(UInt32(0), &central); put(offset, &central)
        central += n
    }
    let offset = UInt32(out.count)
    out += central
    put(UInt32(0x0605_4b50), &out)
    for v: UInt16 in [0, 0, UInt16(entries.count), UInt16(entries.count)] { put(v, &out) }
    put(UInt32(central.count), &out); put(offset, &out); put(UInt16(0), &out)
    return out
}

/// Deterministic xorshift64* generator.
struct FuzzRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}

@Suite struct TorchCheckpointFuzzTests {
    /// Opens `bytes` (in memory, as the file m.pt); on success reads every tensor of a sane size.
    static func exercise(_ bytes: [UInt8]) -> Bool {
        let f: TorchCheckpointFile
        do {
            f = try TorchCheckpointFile(MappedFile(path: "m.pt", contents: bytes))
        } catch let e as TorchCheckpointError {
            #expect(e.path == "m.pt")
            return false
        } catch {
            Issue.record("unexpected error type: \(error)")
            return false
        }
        for name in f.names {
            guard let shape = f.shape(name) else {
                Issue.record("\(name) listed without a shape")
                continue
            }
            let count = shape.reduce(1, *)
            guard count <= 1 << 16 else { continue }
            var out = [Float](repeating: 0, count: count)
            do { try f.read(name, into: &out, shape: shape) } catch { Issue.record("\(name) fails to read: \(error)") }
        }
        return true
    }

    /// A mutation of `input`: bit flips, byte changes, truncation, insertion, deletion, or a
    /// little-endian length-sized field set to an extreme.
    static func mutate(_ input: [UInt8], _ rng: inout FuzzRandom) -> [UInt8] {
        var b = input
        guard !b.isEmpty else { return [UInt8(rng.below(256))] }
        switch rng.below(7) {
        case 0: for _ in 0...rng.below(3) { b[rng.below(b.count)] ^= UInt8(1) << UInt8(rng.below(8)) }
        case 1: b[rng.below(b.count)] = UInt8(rng.below(256))
        case 2: b.removeSubrange(rng.below(b.count)...)
        case 3: b.insert(contentsOf: (0...rng.below(4)).map { _ in UInt8(rng.below(256)) }, at: rng.below(b.count + 1))
        case 4: b.remove(at: rng.below(b.count))
        case 5:
            let at = rng.below(b.count)
            let extremes: [[UInt8]] = [[0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0x80], [0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0]]
            for (i, v) in extremes[rng.below(extremes.count)].enumerated() where at + i < b.count { b[at + i] = v }
        default:
            let at = rng.below(b.count)
            b[at] = [0x00, 0xFF, 0x7F, 0x80, 0x01][rng.below(5)]
        }
        return b
    }

    /// The entries of a fixture archive (from its own central directory).
    static func entries(_ file: String) throws -> [(String, [UInt8])] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try torchFixture(file))))
        return try bytes.withUnsafeBytes { raw in
            let zip = try ZipArchive(raw, fail: { TorchCheckpointError(path: file, .zip($0)) })
            return zip.entries.map { e in (e.name, Array(raw[e.dataOffset..<(e.dataOffset + e.compressedSize)])) }
        }
    }

    /// 6,000 mutated pickles (re-packed with correct CRCs, so they reach the unpickler) and 4,000
    /// mutated whole archives (ZIP64 and plain): each opens or throws; nothing crashes.
    @Test func mutatedCheckpointsOpenOrThrow() throws {
        var rng = FuzzRandom(state: 0x5EED_2026_1203)
        var opened = 0, total = 0
        for file in ["views.pt", "protocol5.pt"] {
            let parts = try Self.entries(file)
            let pickleIndex = try #require(parts.firstIndex { $0.0.hasSuffix("/data.pkl") })
            // The storages stay; only data.pkl changes.
            for _ in 0..<3000 {
                var mutated = parts
                mutated[pickleIndex].1 = Self.mutate(parts[pickleIndex].1, &rng)
                if rng.below(4) == 0 { mutated[pickleIndex].1 = Self.mutate(mutated[pickleIndex].1, &rng) }
                if Self.exercise(storedZip(mutated)) { opened += 1 }
                total += 1
            }
        }
        let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try torchFixture("zip64.pt"))))
        let small = storedZip(try Self.entries("views.pt"))
        for i in 0..<4000 {
            if Self.exercise(Self.mutate(i % 2 == 0 ? whole : small, &rng)) { opened += 1 }
            total += 1
        }
        #expect(total == 10_000)
        // Some mutations are harmless (a changed float, a renamed tensor): both outcomes occur.
        #expect(opened > 0 && opened < total, "\(opened) of \(total) opened")
    }
}

/// A torch-like archive holding `{"w": _rebuild_tensor_v2(storage "0" of `numel` floats 0, 1, 2, …,
/// offset, shape, strides)}`, written opcode by opcode (protocol 2, as torch.save writes it).
func tensorArchive(numel: Int, storageFloats: Int, offset: Int, shape: [Int], strides: [Int]) -> [UInt8] {
    func str(_ s: String) -> [UInt8] { [0x58] + withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian) { Array($0) } + Array(s.utf8) }
    func int(_ v: Int) -> [UInt8] { [0x8A, 8] + withUnsafeBytes(of: Int64(v).littleEndian) { Array($0) } }
    func global(_ m: String, _ n: String) -> [UInt8] { [0x63] + Array("\(m)\n\(n)\n".utf8) }
    func tuple(_ vs: [Int]) -> [UInt8] { [0x28] + vs.flatMap(int) + [0x74] }
    var p: [UInt8] = [0x80, 2, 0x7D, 0x28] + str("w") + global("torch._utils", "_rebuild_tensor_v2") + [0x28]
    p += [0x28] + str("storage") + global("torch", "FloatStorage") + str("0") + str("cpu") + int(numel) + [0x74, 0x51]
    p += int(offset) + tuple(shape) + tuple(strides) + [0x89] + global("collections", "OrderedDict") + [0x29, 0x52, 0x74, 0x52]
    p += [0x75, 0x2E]
    let data = (0..<storageFloats).flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian) { Array($0) } }
    return storedZip([("archive/data.pkl", p), ("archive/data/0", data)])
}

@Suite struct TorchTensorViewTests {
    static func open(_ bytes: [UInt8]) throws -> TorchCheckpointFile {
        try TorchCheckpointFile(MappedFile(path: "v.pt", contents: bytes))
    }

    @Test func stridedViewsAreGathered() throws {
        // Rows 1 and 2, every other column, of a 3×4 matrix 0…11: [[4, 6], [8, 10]].
        let f = try Self.open(tensorArchive(numel: 12, storageFloats: 12, offset: 4, shape: [2, 2], strides: [4, 2]))
        #expect(try f.floatTensor("w").shape == [2, 2])
        let t = try f.floatTensor("w")
        #expect(Array(UnsafeBufferPointer(start: t.data, count: 4)) == [4, 6, 8, 10])
    }

    /// A huge stride on a size-1 dimension never takes part in an element's index; the
    /// walk past it must not trap on overflow.
    @Test func hugeStrideOnASizeOneDimension() throws {
        let f = try Self.open(tensorArchive(numel: 4, storageFloats: 4, offset: 1, shape: [1, 2], strides: [Int.max, 2]))
        let t = try f.floatTensor("w")
        #expect(Array(UnsafeBufferPointer(start: t.data, count: 2)) == [1, 3])
    }

    @Test(arguments: [
        (6, 6, 0, [2, 3], [3, -1], "negative stride"),
        (6, 6, -1, [6], [1], "negative storage offset"),
        (6, 6, 0, [-2, 3], [3, 1], "negative size"),
        (6, 6, 0, [1 << 40, 1 << 40], [0, 0], "overflows"),
        (6, 6, 0, [2, 1 << 62], [1, 1 << 62], "overflow"),
        (6, 6, Int.max / 2, [0], [1], "past the 6-element storage"),
        (6, 6, 0, [2, 3], [3], "differ in rank"),
        (Int.max / 2, 6, 0, [1], [1], "declares"),
    ] as [(Int, Int, Int, [Int], [Int], String)])
    func invalidViewsAreRefused(_ numel: Int, _ floats: Int, _ offset: Int, _ shape: [Int], _ strides: [Int], _ reason: String) throws {
        do {
            _ = try Self.open(tensorArchive(numel: numel, storageFloats: floats, offset: offset, shape: shape, strides: strides))
            Issue.record("opened")
        } catch let e as TorchCheckpointError {
            guard case .invalidTensor("w", let r) = e.problem, r.contains(reason) else {
                Issue.record("\(e)")
                return
            }
        }
    }

    /// Zero strides (an expanded tensor) repeat one element.
    @Test func zeroStridesRepeat() throws {
        let t = try Self.open(tensorArchive(numel: 3, storageFloats: 3, offset: 2, shape: [2, 3], strides: [0, 0])).floatTensor("w")
        #expect(Array(UnsafeBufferPointer(start: t.data, count: 6)) == [2, 2, 2, 2, 2, 2])
    }
}
