"""Reference fixtures for the CLIP model (Tests/MoDEModelsTests/Fixtures/clip_*.safetensors).

The weights and images are not stored: both sides generate them from a counter hash that Swift
reproduces bit for bit (Tests/MoDEModelsTests/FixtureValues.swift). For a tensor `name`, element i is

    z = splitmix64_finalize(fnv1a64(name) + (i + 1) * 0x9E3779B97F4A7C15)   (mod 2**64)
    v = (z >> 40) * 2**-24 * 2 - 1           uniform in [-1, 1), exact in float32
    w = offset + v * scale                   scale a power of two, offset 0 or 1 (float32)

with (offset, scale) stored per parameter as `init.<name>` (2,). Scales follow the fan-in of each
weight (≈ √(3 / fan_in), rounded to a power of two), so activations keep a normal size. Token
ids are stored (`texts`, int32). References are computed in float64 from these exact float32
values and stored as float32, so the comparison measures only the Swift side's rounding.

clip_tiny: the `tiny` preset's widths, heads, patch and context (128 wide, 2 heads, patch 4 on
32 px, 32 tokens) with 2 layers per tower and a 512-word vocabulary (so the fixture stays a few
MB), batch 4. Stores raw image / text features, the ClipLoss and the gradient of every
parameter (`grad.<name>`), then five training steps as open_clip's loop runs them: AdamW
(betas 0.9/0.98, eps 1e-6, weight decay 0.2 except open_clip's exclusions), cosine_lr with
warm-up, gradient clipping to norm 1, logit_scale clamped to [0, ln 100] after each step:
`adamw.lr` (5), `adamw.loss` (6: before each step and after the last), `adamw.logit_scale` (5).
logit_scale starts above ln 100 (as a loaded checkpoint might), so the first clamp takes effect.

clip_b16_shaped: the `b16` preset's shapes (vision 768 wide, 12 heads, patch 16 on 224 px; text
512 wide, 8 heads, 77 tokens; embed 512) with 1 layer per tower and a 512-word vocabulary,
batch 2: raw features and the loss.

Run: ~/.cache/mode-peers/bin/python tools/clip_fixtures.py
"""
import json
import math
import os

import numpy as np
import open_clip
import torch
from open_clip_train.scheduler import cosine_lr

from fixturelib import REPO_ROOT, save_fixture

SEED = 2024
OUT = os.path.join(REPO_ROOT, "Tests", "MoDEModelsTests", "Fixtures")

GAMMA = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def hashed_uniform(name, count):
    """float32 values in [-1, 1) for tensor `name` (see the module docstring)."""
    i = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(name)) + i * GAMMA
        z = (z ^ (z >> np.uint64(30))) * M1
        z = (z ^ (z >> np.uint64(27))) * M2
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
    return u * np.float32(2) - np.float32(1)


def hashed(name, shape, scale, offset=0.0):
    n = int(np.prod(shape)) if len(shape) else 1
    v = hashed_uniform(name, n) * np.float32(scale) + np.float32(offset)
    return v.astype(np.float32).reshape(shape)


def init_rule(name, shape):
    """(offset, scale) of parameter `name` for the hashed initialisation."""
    last = name.split(".")[-1]
    is_norm = any(part.startswith("ln_") for part in name.split("."))
    if is_norm:
        return (1.0, 2.0 ** -3) if last == "weight" else (0.0, 2.0 ** -4)
    if "bias" in last:
        return 0.0, 2.0 ** -4
    if last in ("class_embedding", "positional_embedding") or name == "token_embedding.weight":
        return 0.0, 2.0 ** -3
    fan_in = shape[0] if last in ("proj", "text_projection") else int(np.prod(shape[1:]))
    return 0.0, 2.0 ** round(math.log2(math.sqrt(3.0 / fan_in)))


def build(cfg, logit_scale):
    """A float64 open_clip CLIP with hashed weights; returns it and the init table."""
    model = open_clip.CLIP(**cfg).double()
    table = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                offset, scale = float(np.float32(logit_scale)), 0.0
            else:
                offset, scale = init_rule(name, tuple(p.shape))
            table["init." + name] = torch.tensor([offset, scale], dtype=torch.float32)
            p.copy_(torch.from_numpy(hashed(name, tuple(p.shape), scale, offset)).double())
    return model, table


def token_ids(gen, batch, length, vocab, eot_at):
    """CLIP-like rows: start (vocab-2), words, end (vocab-1, the largest id) at eot_at[b], zeros after."""
    ids = torch.randint(1, vocab - 2, (batch, length), generator=gen)
    ids[:, 0] = vocab - 2
    for b, e in enumerate(eot_at):
        ids[b, e] = vocab - 1
        ids[b, e + 1:] = 0
    return ids


def features_and_loss(model, images, ids):
    img = model.encode_image(images)
    txt = model.encode_text(ids)
    loss = open_clip.ClipLoss()(torch.nn.functional.normalize(img, dim=-1),
                                torch.nn.functional.normalize(txt, dim=-1), model.logit_scale.exp())
    return img, txt, loss


def versions():
    return {"open_clip": open_clip.__version__}


def tiny(gen):
    cfg = {"embed_dim": 128,
           "vision_cfg": {"image_size": 32, "patch_size": 4, "width": 128, "layers": 2, "head_width": 64},
           "text_cfg": {"context_length": 32, "vocab_size": 512, "width": 128, "heads": 2, "layers": 2}}
    batch = 4
    model, table = build(cfg, logit_scale=math.log(100) + 0.01)
    images = torch.from_numpy(hashed("images", (batch, 3, 32, 32), 1.0)).double()
    ids = token_ids(gen, batch, 32, 512, eot_at=[5, 20, 12, 9])  # text runs on 21 of 32 tokens
    img, txt, loss = features_and_loss(model, images, ids)
    loss.backward()
    out = dict(table)
    out.update({"texts": ids.to(torch.int32), "image_features": img.detach(), "text_features": txt.detach(),
                "loss": loss.detach().reshape(1)})
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.detach().clone()

    # Five steps of open_clip's training loop (float64).
    decay = lambda n, p: not (p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n)
    named = list(model.named_parameters())
    opt = torch.optim.AdamW([
        {"params": [p for n, p in named if not decay(n, p)], "weight_decay": 0.0},
        {"params": [p for n, p in named if decay(n, p)], "weight_decay": 0.2},
    ], lr=0.0, betas=(0.9, 0.98), eps=1e-6)
    base_lr, warmup, steps, clip = 2e-4, 2, 5, 1.0
    scheduler = cosine_lr(opt, base_lr, warmup, steps)
    lrs, losses, scales, norms = [], [], [], []
    for step in range(steps):
        lrs.append(scheduler(step))
        opt.zero_grad()
        _, _, loss = features_and_loss(model, images, ids)
        loss.backward()
        losses.append(loss.item())
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), clip).item())
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        scales.append(model.logit_scale.item())
    with torch.no_grad():
        losses.append(features_and_loss(model, images, ids)[2].item())
    print("tiny: loss", loss.item(), "steps", losses, "grad norms", norms, "logit_scale", scales)
    out.update({"adamw.lr": torch.tensor(lrs), "adamw.loss": torch.tensor(losses),
                "adamw.logit_scale": torch.tensor(scales)})
    save_fixture(os.path.join(OUT, "clip_tiny.safetensors"), out, seed=SEED, model_cfg=json.dumps(cfg),
                 batch=batch, adamw=f"base_lr {base_lr} warmup {warmup} steps {steps} betas 0.9/0.98 eps 1e-6 "
                                    f"weight_decay 0.2 clip_grad_norm {clip}",
                 reference="float64", **versions())


def b16_shaped(gen):
    cfg = {"embed_dim": 512,
           "vision_cfg": {"image_size": 224, "patch_size": 16, "width": 768, "layers": 1, "head_width": 64},
           "text_cfg": {"context_length": 77, "vocab_size": 512, "width": 512, "heads": 8, "layers": 1}}
    batch = 2
    model, table = build(cfg, logit_scale=math.log(1 / 0.07))
    images = torch.from_numpy(hashed("images", (batch, 3, 224, 224), 1.0)).double()
    ids = token_ids(gen, batch, 77, 512, eot_at=[12, 40])
    with torch.no_grad():
        img, txt, loss = features_and_loss(model, images, ids)
    out = dict(table)
    out.update({"texts": ids.to(torch.int32), "image_features": img, "text_features": txt, "loss": loss.reshape(1)})
    save_fixture(os.path.join(OUT, "clip_b16_shaped.safetensors"), out, seed=SEED, model_cfg=json.dumps(cfg),
                 batch=batch, reference="float64", **versions())


if __name__ == "__main__":
    gen = torch.Generator().manual_seed(SEED)
    tiny(gen)
    b16_shaped(gen)
