"""Shared helpers for the fixture scripts in tools/.

A fixture is a small safetensors file under Tests/MoDENNTests/Fixtures/ holding reference tensors
computed with PyTorch. Swift tests open it with `fixture("name")` (Tests/TestSupport/Fixtures.swift).

    from fixturelib import fixture_path, save_fixture
    torch.manual_seed(SEED)
    ...
    save_fixture(fixture_path("linear"), {"x": x, "y": y, "dW": w.grad}, seed=SEED, note="...")

Every file records in its `__metadata__`: the seed, the torch / safetensors / numpy / python
versions, the generating script's name, and any extra keyword arguments (as strings).
"""
import os
import platform
import sys

import numpy
import safetensors
import torch
from safetensors.torch import save_file

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fixture_path(name, target="MoDENNTests"):
    """Path of Tests/<target>/Fixtures/<name>.safetensors (default: the NN layer fixtures)."""
    return os.path.join(REPO_ROOT, "Tests", target, "Fixtures", name + ".safetensors")


def _prepare(name, value):
    """A contiguous CPU tensor: floating values become float32, integers and bools are kept."""
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(numpy.asarray(value))
    t = t.detach().cpu()
    if t.is_floating_point():
        t = t.to(torch.float32)
    elif t.is_complex():
        raise TypeError(f"{name}: complex tensors are not supported")
    return t.contiguous()


def save_fixture(path, tensors, seed, raw_dtypes=False, **extra_meta):
    """Writes `tensors` (name -> tensor / array) to `path` with provenance metadata.

    Floating tensors are stored as float32 unless `raw_dtypes` is true (then every tensor keeps
    its dtype, e.g. for format tests). Extra keyword arguments are added to the metadata as strings.
    """
    out = {}
    for name, value in tensors.items():
        if raw_dtypes:
            t = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
            out[name] = t.detach().cpu().contiguous()
        else:
            out[name] = _prepare(name, value)
    meta = {
        "seed": str(seed),
        "generator": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "unknown",
        "torch_version": torch.__version__,
        "safetensors_version": safetensors.__version__,
        "numpy_version": numpy.__version__,
        "python_version": platform.python_version(),
    }
    for k, v in extra_meta.items():
        meta[k] = str(v)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_file(out, path, metadata=meta)
    size = os.path.getsize(path)
    if size > 200_000:
        print(f"warning: {path} is {size} bytes; keep fixtures small", file=sys.stderr)
    return path
