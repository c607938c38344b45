"""Writes Tests/MoDEFormatsTests/Fixtures/interop.safetensors: tensors of every common dtype with known
values, written by the reference `safetensors` library, for the Swift reader's interop tests.

For the 16-bit float types the file holds both the float32 source (`<name>_src`) and PyTorch's
conversion (`<name>`), so the Swift tests can check that their own rounding is bit-identical.

    python tools/make_safetensors_fixture.py             # (re)write the fixture
    python tools/make_safetensors_fixture.py --verify F  # check a file written by the Swift writer

The Swift writer's file for --verify comes from the test `writerOutputMatchesInterop` when the
environment variable SAFETENSORS_INTEROP_OUT names a path. --verify loads it with the reference
library and checks that every tensor equals the fixture's, bit for bit (F64 values through Float32,
the Swift side's element type; NaN payloads aside).
"""
import math
import sys

import torch
from safetensors.torch import load_file

from fixturelib import fixture_path, save_fixture

SEED = 20240611

# Float32 values whose 16-bit conversions exercise rounding, ties, overflow and subnormals.
F16_SOURCE = [
    0.0, -0.0, 1.0, -2.5, 0.1, 1.0 / 3.0, 65504.0, 65519.0, 65520.0, 1e6, -1e6,
    2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25, 2.0 ** -26, 3.0 * 2.0 ** -25,
    1.0 + 2.0 ** -11, 1.0 + 3.0 * 2.0 ** -11, 2.0 ** -14 - 2.0 ** -25,
    math.inf, -math.inf, math.nan,
]
BF16_SOURCE = [
    0.0, -0.0, 1.0, -2.5, 0.1, 1.0 / 3.0, 1.0 + 2.0 ** -8, 1.0 + 3.0 * 2.0 ** -8,
    3.4028234663852886e38, 3.3895313892515355e38, 1e-40, -1e-45, 2.0 ** -126,
    math.inf, -math.inf, math.nan,
]


def build():
    g = torch.Generator().manual_seed(SEED)
    # Random values spread over many binades, including the F16 subnormal range and overflow.
    scale = torch.pow(2.0, torch.randint(-30, 20, (64, 32), generator=g).to(torch.float32))
    rand = torch.randn(64, 32, generator=g) * scale
    f16_src = torch.tensor(F16_SOURCE, dtype=torch.float32)
    bf16_src = torch.tensor(BF16_SOURCE, dtype=torch.float32)
    return {
        "f32": torch.tensor([[0.0, 1.0, -2.5], [3.14159265, 1e-45, 3.4028234663852886e38]], dtype=torch.float32),
        "f32_special": torch.tensor([math.inf, -math.inf, math.nan, -0.0], dtype=torch.float32),
        "f16_src": f16_src,
        "f16": f16_src.to(torch.float16),
        "bf16_src": bf16_src,
        "bf16": bf16_src.to(torch.bfloat16),
        "rand_src": rand,
        "rand_f16": rand.to(torch.float16),
        "rand_bf16": rand.to(torch.bfloat16),
        "f64": torch.tensor([0.1, 1e300, -2.5, 1e-310], dtype=torch.float64),
        "i64": torch.tensor([[0, -1, 2 ** 40 + 1], [-(2 ** 62), 2 ** 63 - 1, -(2 ** 63)]], dtype=torch.int64),
        "i32": torch.tensor([0, -1, 2 ** 31 - 1, -(2 ** 31), 123456], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767, 7], dtype=torch.int16),
        "i8": torch.tensor([-128, 127, -3], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True], dtype=torch.bool),
        "scalar": torch.tensor(42.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }


def same_bits(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == torch.bool:
        return torch.equal(a, b)
    width = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
    a_bits, b_bits = a.contiguous().view(width), b.contiguous().view(width)
    if a.is_floating_point():
        # NaN payloads may differ (torch's vectorised BF16 conversion writes 0xFFFF, its scalar one 0x7FC0).
        both_nan = torch.isnan(a) & torch.isnan(b)
        return torch.equal(torch.isnan(a), torch.isnan(b)) and torch.equal(a_bits[~both_nan], b_bits[~both_nan])
    return torch.equal(a_bits, b_bits)


def verify(path):
    reference = load_file(fixture_path("interop", "MoDEFormatsTests"))
    written = load_file(path)
    bad = []
    for name, t in written.items():
        expected = reference[name]
        if expected.dtype == torch.float64:
            expected = expected.to(torch.float32).to(torch.float64)
        if not same_bits(t, expected):
            bad.append(name)
    missing = sorted(set(reference) - set(written))
    print(f"{path}: {len(written)} tensors checked; mismatched: {bad or 'none'}; not written: {missing or 'none'}")
    return not bad


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--verify":
        sys.exit(0 if verify(sys.argv[2]) else 1)
    path = save_fixture(fixture_path("interop", "MoDEFormatsTests"), build(), seed=SEED, raw_dtypes=True,
                        purpose="safetensors interop", note="16-bit tensors are torch's conversions of <name>_src")
    print("wrote", path)


if __name__ == "__main__":
    main()
