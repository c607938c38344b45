"""Expected values for StableHash (Tests/MoDEFormatsTests/StableHashTests.swift).

Written from the definitions, independently of the Swift code:

    fnv1a(bytes, start)  64-bit FNV-1a: h = start; per byte h = (h ^ b) * 0x100000001B3 (mod 2**64);
                         start defaults to the offset basis 0xCBF29CE484222325
    key(text, seed)      fnv1a(utf8(text), basis ^ (seed * 0x9E3779B97F4A7C15)), then the
                         SplitMix64 finaliser (xor-shift 30, * 0xBF58476D1CE4E5B9, xor-shift 27,
                         * 0x94D049BB133111EB, xor-shift 31)

Run: python3 tools/stable_hash_values.py   (prints the Swift table used by the test)
"""
M = (1 << 64) - 1
BASIS, PRIME = 0xCBF29CE484222325, 0x100000001B3
GOLDEN = 0x9E3779B97F4A7C15


def fnv1a(data: bytes, start: int = BASIS) -> int:
    h = start
    for b in data:
        h = ((h ^ b) * PRIME) & M
    return h


def finalise(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def key(text: str, seed: int = 0) -> int:
    return finalise(fnv1a(text.encode("utf-8"), BASIS ^ ((seed * GOLDEN) & M)))


TEXTS = ["", "a", "foobar", "000123", "shard-00007/sample_000042", "caf\u00e9 \u00fcber \U0001F600"]
SEEDS = [0, 1, 42, 0xFFFFFFFFFFFFFFFF]


def swift(s: str) -> str:
    return '"' + "".join(c if c.isascii() and c not in '"\\' else f"\\u{{{ord(c):X}}}" for c in s) + '"'


if __name__ == "__main__":
    print("// fnv1a(text)")
    for t in TEXTS:
        print(f"({swift(t)}, 0x{fnv1a(t.encode('utf-8')):016X}),")
    print("// key(text, seed)")
    for t in TEXTS:
        for s in SEEDS:
            print(f"({swift(t)}, 0x{s:X}, 0x{key(t, s):016X}),")
    print("// fnv1a of bytes 0..<256 from start 0")
    print(f"0x{fnv1a(bytes(range(256)), 0):016X}")
