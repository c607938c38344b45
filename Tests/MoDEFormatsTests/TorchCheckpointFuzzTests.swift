import Foundation
import Testing
@testable import MoDEFormats

/// A minimal stored zip (no ZIP64), for packing test pickles the way torch.save lays them out.
func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xFF) } }
    var out: [UInt8] = [], central: [UInt8] = []
    out.reserveCapacity(entries.reduce(64) { $0 + $1.1.count + 2 * $1.0.utf8.count + 100 })
    for (name, data) in entries {
        let n = Array(name.utf8)
        let crc = Int(data.withUnsafeBytes { ZipArchive.crc32($0) })
        let fixed = le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + le32(data.count) + le32(data.count) + le16(n.count)
        central += le32(0x0201_4b50) + le16(20) + fixed + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(out.count) + n
        out += le32(0x0403_4b50) + fixed + le16(0) + n + data
    }
    let offset = out.count
    out += central
    out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count) + le32(central.count) + le32(offset) + le16(0)
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
