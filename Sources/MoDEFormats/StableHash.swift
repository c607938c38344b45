/// 64-bit hashes that are the same in every process, run and platform (Swift's `Hasher` is
/// seeded per process). They decide data order, augmentation seeds, expert streams and file
/// identities, so their values must never change.
public enum StableHash {
    /// FNV-1a's 64-bit offset basis (the default start state).
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    /// FNV-1a's 64-bit prime.
    public static let prime: UInt64 = 0x100_0000_01b3

    /// 64-bit FNV-1a of `bytes` from start state `start`: per byte, h = (h ^ byte) · prime.
    @inlinable
    public static func fnv1a(_ bytes: UnsafeRawBufferPointer, start: UInt64 = offsetBasis) -> UInt64 {
        var h = start
        for b in bytes {
            h ^= UInt64(b)
            h &*= prime
        }
        return h
    }

    /// 64-bit FNV-1a of the UTF-8 bytes of `text`, from the offset basis.
    public static func fnv1a(_ text: String) -> UInt64 {
        var t = text
        return t.withUTF8 { fnv1a(UnsafeRawBufferPointer($0)) }
    }

    /// A keyed hash of `key`: FNV-1a over its UTF-8 bytes from the offset basis mixed with `seed`
    /// (basis ^ seed · 0x9E3779B97F4A7C15), then the SplitMix64 finaliser, since FNV alone mixes
    /// short keys poorly in its high bits.
    public static func key(_ key: String, seed: UInt64 = 0) -> UInt64 {
        var k = key
        let h = k.withUTF8 { fnv1a(UnsafeRawBufferPointer($0), start: offsetBasis ^ (seed &* 0x9e37_79b9_7f4a_7c15)) }
        return finalise(h)
    }

    /// SplitMix64's output function: a bijection of 64-bit words with good avalanche.
    @inlinable
    public static func finalise(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 30
        h = h &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 27
        h = h &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }
}
