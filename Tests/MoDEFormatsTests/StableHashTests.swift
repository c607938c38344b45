import Testing
@testable import MoDEFormats

/// Expected values from tools/stable_hash_values.py (a Python implementation written from the
/// FNV-1a and SplitMix64 definitions); "a" and "foobar" are also FNV-1a's published test vectors.
@Suite struct StableHashTests {
    static let fnv: [(String, UInt64)] = [
        ("", 0xCBF2_9CE4_8422_2325),
        ("a", 0xAF63_DC4C_8601_EC8C),
        ("foobar", 0x8594_4171_F739_67E8),
        ("000123", 0xDB9F_C29E_F94B_5179),
        ("shard-00007/sample_000042", 0xBF04_9F78_6796_BE21),
        ("caf\u{E9} \u{FC}ber \u{1F600}", 0xF5F6_8DAA_F9D2_9AF6),
    ]

    static let keyed: [(String, UInt64, UInt64)] = [
        ("", 0x0, 0xF52A_15E9_A9B5_E89B),
        ("", 0x1, 0xE9D3_2759_6B86_9820),
        ("", 0x2A, 0xF623_BFCB_6596_7C3A),
        ("", 0xFFFF_FFFF_FFFF_FFFF, 0x5AFB_BF17_186D_CB75),
        ("a", 0x0, 0x02C0_BDBF_4814_20F8),
        ("a", 0x1, 0xD1EC_A9CD_C006_6F33),
        ("a", 0x2A, 0xC9D0_FAAB_1B08_0ABA),
        ("a", 0xFFFF_FFFF_FFFF_FFFF, 0xF3A7_F892_6DB3_8E5B),
        ("foobar", 0x0, 0x404D_A9E3_B740_78C2),
        ("foobar", 0x1, 0x36D3_CF6F_2570_D198),
        ("foobar", 0x2A, 0xA784_7CD7_ADBA_B602),
        ("foobar", 0xFFFF_FFFF_FFFF_FFFF, 0xAB0A_F673_5A53_D7F6),
        ("000123", 0x0, 0xC147_8B51_BA1A_9B2A),
        ("000123", 0x1, 0xA290_5D64_EBEB_8609),
        ("000123", 0x2A, 0x6003_5EA1_160F_2A33),
        ("000123", 0xFFFF_FFFF_FFFF_FFFF, 0x5628_0BC7_98E6_61C4),
        ("shard-00007/sample_000042", 0x0, 0x5848_75EE_EDF0_17F9),
        ("shard-00007/sample_000042", 0x1, 0x4752_F382_98ED_0344),
        ("shard-00007/sample_000042", 0x2A, 0x95B8_FF54_F6B5_DB2F),
        ("shard-00007/sample_000042", 0xFFFF_FFFF_FFFF_FFFF, 0xD2CC_E32D_EEB4_6DB9),
        ("caf\u{E9} \u{FC}ber \u{1F600}", 0x0, 0x898E_329F_0A4D_BC9D),
        ("caf\u{E9} \u{FC}ber \u{1F600}", 0x1, 0x1A0E_69AC_3382_7722),
        ("caf\u{E9} \u{FC}ber \u{1F600}", 0x2A, 0xF2D8_9A78_4284_645A),
        ("caf\u{E9} \u{FC}ber \u{1F600}", 0xFFFF_FFFF_FFFF_FFFF, 0xA2C1_F7FC_79CF_7434),
    ]

    @Test func fnv1aOfText() {
        for (text, expected) in Self.fnv {
            #expect(StableHash.fnv1a(text) == expected, "\(text)")
        }
    }

    @Test func fnv1aOfBytesFromAGivenStart() {
        let bytes = [UInt8](0...255)
        #expect(bytes.withUnsafeBytes { StableHash.fnv1a($0, start: 0) } == 0xC126_2056_FFB7_1000)
        // Default start: the same as hashing the text.
        let text = Array("foobar".utf8)
        #expect(text.withUnsafeBytes { StableHash.fnv1a($0) } == 0x8594_4171_F739_67E8)
    }

    @Test func keyedHash() {
        for (text, seed, expected) in Self.keyed {
            #expect(StableHash.key(text, seed: seed) == expected, "\(text), seed \(seed)")
        }
        #expect(StableHash.key("a") == 0x02C0_BDBF_4814_20F8)  // seed defaults to 0
    }

    @Test func textWithNonContiguousStorageHashesItsUTF8() {
        // A bridged or sliced string is hashed by its UTF-8 bytes all the same.
        let s = String("xxfoobar".dropFirst(2))
        #expect(StableHash.fnv1a(s) == 0x8594_4171_F739_67E8)
    }
}
