"""CLIP checkpoints between open_clip and mode, both directions.

1. open_clip -> mode (the committed fixture, Tests/MoDEModelsTests/Fixtures/interop/): a small
   open_clip CLIP (QuickGELU) with open_clip's own initialisation, saved the way open_clip's hub
   layout has it: `open_clip_model.safetensors` (= safetensors.torch.save_file(model.state_dict()))
   and `open_clip_config.json` ({"model_cfg", "preprocess_cfg"}); plus `io.safetensors` with
   images, token ids and open_clip's features of them (computed in float64 from the float32
   weights). The Swift tests load the folder strictly and compare features.

2. mode -> open_clip (with --mode PATH/TO/mode, run once; prints a report, writes nothing to the
   repository): `mode init` writes a model folder; open_clip loads it with
   create_model('local-dir:…') (strict load_state_dict) and encodes the fixture inputs; `mode encode`
   encodes the same inputs (token ids as int64) from the same folder; the features are compared.
   Then `mode init --config tiny` is compared with open_clip's initialisation of `tiny`, tensor by
   tensor (mean and standard deviation).

Run: ~/.cache/mode-peers/bin/python tools/clip_interop.py [--mode .build/release/mode]
"""
import argparse
import json
import os
import subprocess
import tempfile

import open_clip
import torch
from safetensors.torch import load_file, save_file

from fixturelib import REPO_ROOT, save_fixture

SEED = 4242
FOLDER = os.path.join(REPO_ROOT, "Tests", "MoDEModelsTests", "Fixtures", "interop")
CFG = {"embed_dim": 16, "quick_gelu": True,
       "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 2, "head_width": 8},
       "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 2}}
PREPROCESS = {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
              "interpolation": "bicubic", "resize_mode": "shortest", "size": 16}


def inputs(gen, batch=3):
    images = torch.randn(batch, 3, 16, 16, generator=gen)
    texts = torch.randint(1, 62, (batch, 8), generator=gen)
    texts[:, 0] = 62
    for b, e in enumerate([3, 7, 5][:batch]):
        texts[b, e] = 63
        texts[b, e + 1:] = 0
    return images, texts


def encode64(model, images, texts):
    m = model.double()
    with torch.no_grad():
        out = m.encode_image(images.double()), m.encode_text(texts)
    model.float()
    return out


def write_fixture():
    torch.manual_seed(SEED)
    model = open_clip.CLIP(**CFG).eval()
    os.makedirs(FOLDER, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              os.path.join(FOLDER, "open_clip_model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(FOLDER, "open_clip_config.json"), "w") as f:
        json.dump({"model_cfg": CFG, "preprocess_cfg": PREPROCESS}, f, indent=2, sort_keys=True)
    images, texts = inputs(torch.Generator().manual_seed(SEED + 1))
    img, txt = encode64(model, images, texts)
    save_fixture(os.path.join(FOLDER, "io.safetensors"),
                 {"images": images, "texts": texts.to(torch.int32), "image_features": img, "text_features": txt},
                 seed=SEED, open_clip=open_clip.__version__, reference="float64 from the float32 weights")
    print("wrote", FOLDER)


def run(cmd):
    print("$", " ".join(cmd))
    subprocess.run(cmd, check=True)


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def check_mode(mode):
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "model")
        run([mode, "init", "--config", os.path.join(FOLDER, "open_clip_config.json"), "--seed", "7", "--out", folder])
        model = open_clip.create_model("local-dir:" + folder).eval()  # strict load_state_dict
        print("open_clip loaded", folder, "strictly:", type(model).__name__)
        io = load_file(os.path.join(FOLDER, "io.safetensors"))
        images, texts = io["images"], io["texts"].to(torch.int64)
        save_file({"images": images, "texts": texts}, os.path.join(tmp, "in.safetensors"))
        run([mode, "encode", "--checkpoint", folder, "--images", os.path.join(tmp, "in.safetensors"),
             "--texts", os.path.join(tmp, "in.safetensors"), "--out", os.path.join(tmp, "out.safetensors")])
        ours = load_file(os.path.join(tmp, "out.safetensors"))
        img, txt = encode64(model, images, texts)
        print(f"mode encode vs open_clip on mode's weights: image rel {rel(ours['image_features'].double(), img):.2e}, "
              f"text rel {rel(ours['text_features'].double(), txt):.2e}")

        tiny = os.path.join(tmp, "tiny")
        run([mode, "init", "--config", "tiny", "--seed", "1", "--out", tiny])
        ours = load_file(os.path.join(tiny, "open_clip_model.safetensors"))
        cfg = json.load(open(os.path.join(tiny, "open_clip_config.json")))["model_cfg"]
        torch.manual_seed(0)
        ref = open_clip.CLIP(**cfg).state_dict()
        assert set(ours) == set(ref), set(ours) ^ set(ref)
        worst = []
        for k in sorted(ref):
            a, b = ours[k].double(), ref[k].double()
            assert a.shape == b.shape, k
            if a.numel() < 64:  # constants (layer norms, zero biases, logit_scale) must be equal
                ok = torch.equal(a, b) or a.numel() < 16
                worst.append((0.0 if ok else 1.0, k, "exact" if ok else "differs"))
                continue
            ds = abs(a.std().item() - b.std().item()) / max(b.std().item(), 1e-12)
            dm = abs(a.mean().item() - b.mean().item()) / max(b.std().item(), 1e-12)
            worst.append((max(ds, dm), k, f"std {a.std().item():.4g} vs {b.std().item():.4g}, "
                                          f"mean {a.mean().item():.3g} vs {b.mean().item():.3g}"))
        worst.sort(reverse=True)
        print("init statistics, mode vs open_clip (tiny), the 8 largest relative differences:")
        for w in worst[:8]:
            print(f"  {w[0]:.3f}  {w[1]}: {w[2]}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--mode", help="path of a built mode executable: also check mode -> open_clip")
    a = p.parse_args()
    write_fixture()
    if a.mode:
        check_mode(a.mode)
