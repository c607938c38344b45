"""Writes small WebDataset-style shards with Python's tarfile, for the Swift tar reader's tests.

Outputs (Tests/MoDEDataTests/Fixtures/):
  py_pax.tar  - PAX format (tarfile's default, as webdataset writes): long and non-ASCII member names
  py_gnu.tar  - GNU format: a name over 100 bytes stored as a GNU long-name ('L') record
  py_expected.json - for each archive, the member names and sizes in order, plus metadata
Deterministic: seed 0, fixed mtimes. Run: python tools/make_tar_fixtures.py
"""
import io, json, os, platform, random, sys, tarfile

SEED = 0
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "MoDEDataTests", "Fixtures")
os.makedirs(out, exist_ok=True)
rng = random.Random(SEED)

def members():
    m = []
    long_dir = "a/" + "very_long_directory_name_" * 5
    keys = ["000000000", "000000001", long_dir + "/sample_ünïcode_名前", "000000003"]
    for i, k in enumerate(keys):
        img = bytes(rng.randrange(256) for _ in range(rng.randrange(100, 1500)))
        m.append((k + ".jpg", img))
        m.append((k + ".txt", f"a caption for sample {i} — ünïcode ✓".encode()))
        m.append((k + ".json", json.dumps({"caption": f"json caption {i}", "key": k}).encode()))
    return m

expected = {"seed": SEED, "python": platform.python_version(), "generator": os.path.basename(__file__)}
for name, fmt in (("py_pax.tar", tarfile.PAX_FORMAT), ("py_gnu.tar", tarfile.GNU_FORMAT)):
    rng.seed(SEED)
    mem = members()
    with tarfile.open(os.path.join(out, name), "w", format=fmt) as tf:
        for n, data in mem:
            if fmt == tarfile.GNU_FORMAT and any(ord(c) > 127 for c in n):
                n = n.encode("utf-8").decode("ascii", "ignore")
            info = tarfile.TarInfo(n); info.size = len(data); info.mtime = 1700000000
            tf.addfile(info, io.BytesIO(data))
    with tarfile.open(os.path.join(out, name)) as tf:
        expected[name] = [{"name": t.name, "size": t.size} for t in tf.getmembers()]
json.dump(expected, open(os.path.join(out, "py_expected.json"), "w"), indent=1, ensure_ascii=False)
print("wrote", out, file=sys.stderr)
