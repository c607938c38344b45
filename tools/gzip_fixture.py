"""gzip reference streams for Tests/MoDETokenizersTests/GzipTests.swift, made with Python's gzip
and zlib modules: Tests/MoDETokenizersTests/Fixtures/gzip_cases.json.

Each case holds a gzip stream and the bytes it decompresses to (both base64):
  stored      level 0 (stored blocks)
  fixed       a short repetitive text (fixed Huffman codes with back-references)
  dynamic     about 6 KB of varied text (dynamic Huffman codes)
  two_members two gzip members one after the other (as `cat a.gz b.gz`)
  empty       the gzip of no bytes
  padded      a member followed by zero bytes (some writers pad; the padding is ignored)
  with_name   a header with FNAME and FCOMMENT fields (written by hand around a zlib raw stream)
and corrupt variants, each of which must fail:
  bad_crc, bad_length, truncated, bad_deflate

Run: python3 tools/gzip_fixture.py
"""
import base64
import gzip
import json
import os
import random
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "MoDETokenizersTests", "Fixtures", "gzip_cases.json")


def gz(data, level=9):
    return gzip.compress(data, compresslevel=level, mtime=0)


def with_name(data):
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = raw.compress(data) + raw.flush()
    header = bytes([0x1F, 0x8B, 8, 0x08 | 0x10, 0, 0, 0, 0, 0, 255]) + b"notes.txt\0" + b"a comment\0"
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def main():
    rng = random.Random(7)
    words = ["photo", "of", "a", "dog", "cat", "the", "blue", "sky", "red", "car", "caf\u00e9", "\u00fcber", "\u5c71"]
    dynamic = "\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(300)).encode()
    fixed = b"hello hello hello hello\n"
    stored = bytes(rng.randrange(256) for _ in range(300))
    cases = [
        ("stored", gz(stored, 0), stored),
        ("fixed", gz(fixed), fixed),
        ("dynamic", gz(dynamic), dynamic),
        ("two_members", gz(fixed) + gz(b"second member\n"), fixed + b"second member\n"),
        ("empty", gz(b""), b""),
        ("padded", gz(fixed) + bytes(16), fixed),
        ("with_name", with_name(fixed), fixed),
    ]
    good = gz(fixed)
    bad_crc = bytearray(good); bad_crc[-8] ^= 1
    bad_len = bytearray(good); bad_len[-4] ^= 1
    bad_deflate = bytearray(good); bad_deflate[10] = 0xFF  # block type 11 (reserved)
    corrupt = [
        ("bad_crc", bytes(bad_crc)),
        ("bad_length", bytes(bad_len)),
        ("truncated", good[:15]),
        ("bad_deflate", bytes(bad_deflate)),
    ]
    for name, stream, plain in cases:
        assert gzip.decompress(stream) == plain, name
    for name, stream in corrupt:
        try:
            gzip.decompress(stream)
        except (OSError, EOFError, zlib.error):
            pass
        else:
            raise SystemExit(f"{name}: Python accepted it")
    b64 = lambda b: base64.b64encode(b).decode()
    doc = {
        "note": "made by tools/gzip_fixture.py with Python's gzip and zlib",
        "cases": [{"name": n, "gzip": b64(s), "plain": b64(p)} for n, s, p in cases],
        "corrupt": [{"name": n, "gzip": b64(s)} for n, s in corrupt],
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
