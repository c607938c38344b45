"""Reference fixtures for open_clip's ResidualAttentionBlock (Tests/MoDENNTests/Fixtures/block*.safetensors).

open_clip.transformer.ResidualAttentionBlock(width 8, 2 heads, mlp_ratio 4, batch_first), with
random parameters: once with nn.GELU and no mask (vision tower), once with QuickGELU and
open_clip's causal mask (text tower). Forward on random x, backward of loss = sum(y * dy).
Inputs and parameters are float32 draws; the reference is computed in float64 and stored as
float32, so the fixture carries no float32 error of PyTorch's own. Parameters under their
state_dict names, gradients as grad.<name>; x, y, dy, grad.x.

Run: ~/.cache/mode-peers/bin/python tools/nn_fixtures_block.py
"""
import open_clip
import torch
from open_clip.transformer import QuickGELU, ResidualAttentionBlock

from fixturelib import fixture_path, save_fixture

SEED = 31337


def block(gen, name, act, causal):
    b, t, c, h = 2, 6, 8, 2
    m = ResidualAttentionBlock(c, h, mlp_ratio=4.0, act_layer=act, batch_first=True).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(*p.shape, generator=gen, dtype=torch.float32).double() * 0.4)
    x = torch.randn(b, t, c, generator=gen, dtype=torch.float32).double().requires_grad_(True)
    mask = torch.empty(t, t, dtype=torch.float64).fill_(float("-inf")).triu_(1) if causal else None
    y = m(x, attn_mask=mask)
    dy = torch.randn(b, t, c, generator=gen, dtype=torch.float32).double()
    (y * dy).sum().backward()
    tensors = {"x": x, "y": y, "dy": dy, "grad.x": x.grad}
    for n, p in m.named_parameters():
        tensors[n] = p
        tensors["grad." + n] = p.grad
    save_fixture(fixture_path(name), {k: v.detach() for k, v in tensors.items()}, seed=SEED,
                 open_clip=open_clip.__version__, batch=b, tokens=t, width=c, heads=h, causal=causal,
                 activation=act.__name__, loss="sum(y * dy), computed in float64")


gen = torch.Generator().manual_seed(SEED)
block(gen, "block", torch.nn.GELU, causal=False)
block(gen, "block_causal_quickgelu", QuickGELU, causal=True)
