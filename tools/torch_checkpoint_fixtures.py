"""Writes the PyTorch checkpoint fixtures under Tests/MoDEFormatsTests/Fixtures/torch/ for the Swift
reader (TorchCheckpointFile) and its tests.

    python tools/torch_checkpoint_fixtures.py

Valid files, all written by torch.save:
  dtypes.pt      F32, F16, BF16, F64, int64/32/16/8, uint8 and bool tensors in one dict
  views.pt       views sharing one storage: a transpose, a column, a slice, a 0-d and an empty tensor
  module.pt      an nn.Module state_dict (OrderedDict with _metadata, a BatchNorm's int64 counter)
  training.pt    {"epoch", "name", "state_dict" (keys under "module."), "optimizer" (AdamW state)}
  params.pt      nn.Parameter values (torch._utils._rebuild_parameter)
  protocol5.pt   dtypes.pt's dict saved with pickle_protocol=5 (FRAME, MEMOIZE, STACK_GLOBAL)
  deflated.pt    dtypes.pt re-packed with every entry deflated (Python's zipfile)
  zip64.pt       dtypes.pt re-packed by a small writer here with ZIP64 records everywhere and
                 padded local extra fields
  legacy.pt      saved with _use_new_zipfile_serialization=False (to be refused with advice)
  torchscript.pt torch.jit.save of a tiny scripted module (to be refused with advice)
Hand-made hostile files (torch-like zips whose data.pkl is written opcode by opcode):
  evil_os_system.pt, evil_eval.pt, evil_nested.pt, evil_getattr.pt, evil_popen.pt, evil_inst.pt,
  huge_numel.pt, short_storage.pt, view_out_of_range.pt
Expected values: torch_checkpoints.json (names, dtypes, shapes, extras, versions) and
torch_checkpoints_expected.safetensors (every tensor of the valid files as float32, key
"<file>:<name>"), both written from torch's own view of the tensors.
"""
import io
import json
import os
import pickle
import platform
import struct
import sys
import zipfile
import zlib

import torch

from fixturelib import REPO_ROOT, fixture_path, save_fixture

SEED = 20261203
OUT = os.path.join(REPO_ROOT, "Tests", "MoDEFormatsTests", "Fixtures", "torch")
MARKER = "/tmp/mode-torch-fixture-pwned"
DTYPE_NAMES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def dtypes_dict():
    g = torch.Generator().manual_seed(SEED)
    return {
        "f32": torch.randn(2, 3, generator=g),
        "f16": torch.tensor([0.0, -1.5, 65504.0, 2.0 ** -24, float("inf")], dtype=torch.float16),
        "bf16": (torch.randn(4, generator=g) * 100).to(torch.bfloat16),
        "f64": torch.tensor([[0.1, -2.0], [1e-3, 12345.678]], dtype=torch.float64),
        "i64": torch.tensor([0, -1, 2 ** 40, -(2 ** 53)], dtype=torch.int64),
        "i32": torch.tensor([7, -2 ** 31, 2 ** 24], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767], dtype=torch.int16),
        "i8": torch.tensor([[-128, 5], [127, 0]], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
    }


def views_dict():
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    return {
        "base": base,
        "transposed": base.t(),
        "column": base[:, 2],
        "block": base[1:, 1:3],
        "scalar": base[2, 3],
        "empty": base[:0],
        "every_other": base.reshape(-1)[1::2],
    }


def module_state():
    torch.manual_seed(SEED)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.BatchNorm1d(4))
    return m


def training_checkpoint():
    m = module_state()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1)
    m.train()
    loss = m(torch.randn(5, 3)).square().mean()
    loss.backward()
    opt.step()
    sd = {"module." + k: v for k, v in m.state_dict().items()}
    return {"epoch": 3, "name": "tiny-run", "state_dict": sd, "optimizer": opt.state_dict(), "lr": 0.5}, m.state_dict()


# ---- zip writers -----------------------------------------------------------------------------

def read_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def fixed_time(name, compress):
    """A zip member dated 2026-01-01, so that re-running the script gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = compress
    return info


def write_deflated(entries, path):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries:
            z.writestr(fixed_time(name, zipfile.ZIP_DEFLATED), data)


def write_zip64(entries, path, align=64):
    """A stored zip with ZIP64 sizes and offsets in every record and data aligned by local padding."""
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        n = name.encode()
        crc = zlib.crc32(data)
        offset = len(out)
        z64 = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        pad = (-(offset + 30 + len(n) + len(z64) + 4)) % align
        extra = z64 + struct.pack("<HH", 0x7777, pad) + b"\0" * pad
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(n), len(extra))
        out += n + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(n), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += n + cextra
    cd_offset = len(out)
    out += central
    z64_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(out)


def torch_like(path, pickle_bytes, storages=None):
    """A zip laid out as torch.save lays it out, around a hand-made data.pkl."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(fixed_time("archive/data.pkl", zipfile.ZIP_STORED), pickle_bytes)
        z.writestr(fixed_time("archive/byteorder", zipfile.ZIP_STORED), b"little")
        for key, data in (storages or {}).items():
            z.writestr(fixed_time(f"archive/data/{key}", zipfile.ZIP_STORED), data)
        z.writestr(fixed_time("archive/version", zipfile.ZIP_STORED), b"3\n")


# ---- hand-made pickles -----------------------------------------------------------------------

def unicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def tensor_ops(key, numel, shape, stride, dtype_class="FloatStorage", offset=0):
    """Opcodes that leave one _rebuild_tensor_v2(...) tensor on the stack (protocol 2 style)."""
    def ints(values):
        return b"(" + b"".join(b"J" + struct.pack("<i", v) if -2**31 <= v < 2**31 else
                               b"\x8a\x08" + struct.pack("<q", v) for v in values) + b"t"
    pid = b"(" + unicode("storage") + b"ctorch\n" + dtype_class.encode() + b"\n" + unicode(key) + unicode("cpu")
    pid += (b"J" + struct.pack("<i", numel)) if numel < 2 ** 31 else (b"\x8a\x08" + struct.pack("<q", numel))
    pid += b"tQ"
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" + pid + b"J" + struct.pack("<i", offset) + ints(shape) + ints(stride)
            + b"\x89ccollections\nOrderedDict\n)RtR")


def state_dict_pickle(entries):
    body = b"\x80\x02}(" + b"".join(unicode(k) + v for k, v in entries) + b"u."
    return body


def write_hostile():
    six = struct.pack("<6f", *range(6))
    # os.system written by hand so the module reads "os" (pickle itself would write "posix").
    call = b"cos\nsystem\n" + unicode(f"echo pwned > {MARKER}") + b"\x85R"
    torch_like(os.path.join(OUT, "evil_os_system.pt"), b"\x80\x02" + call + b".")
    # builtins.eval through STACK_GLOBAL, as protocol 4 writes it.
    ev = (b"\x80\x04" + b"\x8c\x08builtins\x8c\x04eval\x93" + unicode(f"open('{MARKER}', 'w').write('pwned')")
          + b"\x85R.")
    torch_like(os.path.join(OUT, "evil_eval.pt"), ev)
    # A plausible state dict whose second value hides a REDUCE of subprocess.Popen inside a tuple.
    nested = state_dict_pickle([
        ("w", tensor_ops("0", 6, [2, 3], [3, 1])),
        ("x", b"(csubprocess\nPopen\n](" + unicode("touch") + unicode(MARKER) + b"e\x85Rt"),
    ])
    torch_like(os.path.join(OUT, "evil_nested.pt"), nested, {"0": six})
    ga = b"\x80\x02cbuiltins\ngetattr\n(cbuiltins\nobject\n" + unicode("__subclasses__") + b"tR."
    torch_like(os.path.join(OUT, "evil_getattr.pt"), ga)
    # pickle's own output for a class whose __reduce__ calls subprocess.Popen.
    class Popen:
        def __reduce__(self):
            import subprocess
            return (subprocess.Popen, (["touch", MARKER],))
    torch_like(os.path.join(OUT, "evil_popen.pt"), pickle.dumps({"w": Popen()}, protocol=4))
    # INST: the protocol-0 opcode that imports and calls in one step.
    torch_like(os.path.join(OUT, "evil_inst.pt"), b"(" + unicode("x") + b"ios\nsystem\n.")
    # Sizes: 10**12 elements declared for a 24-byte entry; 8 declared for a 6-element entry;
    # a view reaching past its storage.
    torch_like(os.path.join(OUT, "huge_numel.pt"), state_dict_pickle([("w", tensor_ops("0", 10 ** 12, [10 ** 6, 10 ** 6], [10 ** 6, 1]))]), {"0": six})
    torch_like(os.path.join(OUT, "short_storage.pt"), state_dict_pickle([("w", tensor_ops("0", 8, [2, 4], [4, 1]))]), {"0": six})
    torch_like(os.path.join(OUT, "view_out_of_range.pt"), state_dict_pickle([("w", tensor_ops("0", 6, [3, 3], [3, 1]))]), {"0": six})


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"seed": SEED, "torch_version": torch.__version__, "python_version": platform.python_version(),
                "generator": os.path.basename(sys.argv[0]), "files": {}}
    expected = {}

    def record(file, sd, extras=None):
        manifest["files"][file] = {
            "names": list(sd.keys()),
            "dtypes": [DTYPE_NAMES[v.dtype] for v in sd.values()],
            "shapes": [list(v.shape) for v in sd.values()],
            "extras": extras or {},
        }
        for k, v in sd.items():
            expected[f"{file}:{k}"] = v.detach().to(torch.float32).contiguous().clone()

    dt = dtypes_dict()
    torch.save(dt, os.path.join(OUT, "dtypes.pt"))
    record("dtypes.pt", dt)
    views = views_dict()
    torch.save(views, os.path.join(OUT, "views.pt"))
    record("views.pt", views)
    m = module_state()
    torch.save(m.state_dict(), os.path.join(OUT, "module.pt"))
    record("module.pt", m.state_dict())
    ckpt, sd = training_checkpoint()
    torch.save(ckpt, os.path.join(OUT, "training.pt"))
    record("training.pt", sd, {"epoch": 3, "name": "tiny-run", "lr": 0.5})
    g = torch.Generator().manual_seed(SEED + 1)
    params = {"weight": torch.nn.Parameter(torch.randn(2, 3, generator=g)), "bias": torch.nn.Parameter(torch.zeros(2), requires_grad=False)}
    torch.save(params, os.path.join(OUT, "params.pt"))
    record("params.pt", params)
    torch.save(dt, os.path.join(OUT, "protocol5.pt"), pickle_protocol=5)
    record("protocol5.pt", dt)
    entries = read_entries(os.path.join(OUT, "dtypes.pt"))
    write_deflated(entries, os.path.join(OUT, "deflated.pt"))
    record("deflated.pt", dt)
    write_zip64(entries, os.path.join(OUT, "zip64.pt"))
    record("zip64.pt", dt)
    torch.save(dt, os.path.join(OUT, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(OUT, "torchscript.pt"))
    write_hostile()

    with open(os.path.join(OUT, "..", "torch_checkpoints.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    save_fixture(fixture_path("torch_checkpoints_expected", target="MoDEFormatsTests"), expected, seed=SEED,
                 note="every tensor of the valid Fixtures/torch files as float32, key <file>:<name>")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files in {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
