"""Reference AdamW trajectory (torch.optim.AdamW + clip_grad_norm_ + open_clip's cosine_lr).

Three parameters as in a CLIP model: a 2-D weight (decayed), a bias and a scalar logit scale (not
decayed, open_clip's rule). Five steps with fixed random gradients; each step clips the global
gradient norm to 1.0 and uses the learning rate of open_clip's cosine schedule (warm-up 2 of 5
steps, base 1e-2). Records the gradients, the learning rates, the norms before clipping and the
parameters after every step. Run: ~/.cache/mode-peers/bin/python tools/optim_fixtures.py
"""
import math
import torch
from fixturelib import fixture_path, save_fixture

SEED = 0
torch.manual_seed(SEED)
w = torch.nn.Parameter(torch.randn(4, 3))
b = torch.nn.Parameter(torch.randn(3))
s = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))
out = {"w0": w.detach().clone(), "b0": b.detach().clone(), "s0": s.detach().clone().reshape([])}
opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.2}, {"params": [b, s], "weight_decay": 0.0}],
                        lr=1e-2, betas=(0.9, 0.98), eps=1e-6)
base, warmup, steps = 1e-2, 2, 5
lrs, norms = [], []
for t in range(steps):
    lr = base * (t + 1) / warmup if t < warmup else 0.5 * (1 + math.cos(math.pi * (t - warmup) / (steps - warmup))) * base
    for g in opt.param_groups:
        g["lr"] = lr
    gw, gb, gs = torch.randn(4, 3) * 2, torch.randn(3), torch.randn([]) * 0.5
    w.grad, b.grad, s.grad = gw.clone(), gb.clone(), gs.clone()
    norms.append(float(torch.nn.utils.clip_grad_norm_([w, b, s], 1.0)))
    opt.step()
    lrs.append(lr)
    out.update({f"gw{t}": gw, f"gb{t}": gb, f"gs{t}": gs.reshape([]),
                f"w{t + 1}": w.detach().clone(), f"b{t + 1}": b.detach().clone(), f"s{t + 1}": s.detach().clone()})
out["lrs"] = torch.tensor(lrs)
out["norms"] = torch.tensor(norms)
save_fixture(fixture_path("adamw"), out, seed=SEED, note="AdamW(betas 0.9/0.98, eps 1e-6, wd 0.2 on w) + clip 1.0 + cosine_lr")
