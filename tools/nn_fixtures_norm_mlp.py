"""Reference forward and backward values for LayerNorm, Linear and open_clip's MLP (GELU and
QuickGELU), computed with PyTorch in float32.

Each layer gets one file in Tests/MoDENNTests/Fixtures/ holding, under PyTorch state_dict names, its
parameters (`<name>`) and their gradients (`grad.<name>`), plus `input`, `output`, `grad_output`
(a random upstream gradient, so the loss is sum(output * grad_output)) and `grad_input`.
The layers come from open_clip itself where it has them (the MLP and layer norm of a
ResidualAttentionBlock), so names and structure match open_clip checkpoints.
Shapes are tiny: (batch 2, tokens 3, width 20), MLP hidden width 80.
Run: ~/.cache/mode-peers/bin/python tools/nn_fixtures_norm_mlp.py
"""
import open_clip
import torch
from open_clip.transformer import QuickGELU, ResidualAttentionBlock
from fixturelib import fixture_path, save_fixture

SEED = 1234
WIDTH, HEADS, BATCH, TOKENS = 20, 4, 2, 3


def record(name, module, prefix, x, **meta):
    """Runs module on x, backpropagates a random upstream gradient and saves everything."""
    x = x.clone().requires_grad_(True)
    y = module(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    tensors = {"input": x, "output": y, "grad_output": dy, "grad_input": x.grad}
    for key, p in module.named_parameters():
        full = prefix + key
        tensors[full] = p
        tensors["grad." + full] = p.grad
    save_fixture(fixture_path(name), tensors, seed=SEED, open_clip_version=open_clip.__version__,
                 shape=f"input ({BATCH}, {TOKENS}, {WIDTH})", **meta)


torch.manual_seed(SEED)

# LayerNorm (open_clip's LayerNorm = nn.LayerNorm computed in float32), with non-trivial affine
# parameters so that their gradients are exercised.
block = ResidualAttentionBlock(WIDTH, HEADS, mlp_ratio=4.0, act_layer=torch.nn.GELU)
ln = block.ln_1
with torch.no_grad():
    ln.weight.normal_(1.0, 0.3)
    ln.bias.normal_(0.0, 0.3)
record("layernorm", ln, "ln_1.", torch.randn(BATCH, TOKENS, WIDTH) * 2 + 0.5, eps=str(ln.eps))

# Linear (nn.Linear default initialisation), 20 -> 13.
linear = torch.nn.Linear(WIDTH, 13)
record("linear", linear, "", torch.randn(BATCH, TOKENS, WIDTH))

# open_clip MLP: c_fc (20 -> 80), activation, c_proj (80 -> 20). Weights are scaled up from the
# default initialisation so that the activation sees values across its curved range.
for act_name, act in [("gelu", torch.nn.GELU), ("quick_gelu", QuickGELU)]:
    block = ResidualAttentionBlock(WIDTH, HEADS, mlp_ratio=4.0, act_layer=act)
    mlp = block.mlp
    with torch.no_grad():
        mlp.c_fc.weight.mul_(4.0)
        mlp.c_fc.bias.normal_(0.0, 0.5)
    record(f"mlp_{act_name}", mlp, "mlp.", torch.randn(BATCH, TOKENS, WIDTH), activation=act_name)

# The activations alone on a grid of inputs, with their derivatives (autograd of the sum).
x = torch.linspace(-10, 10, 2001)
acts = {}
for act_name, act in [("gelu", torch.nn.GELU()), ("quick_gelu", QuickGELU())]:
    xg = x.clone().requires_grad_(True)
    y = act(xg)
    y.sum().backward()
    acts[act_name] = y
    acts["grad." + act_name] = xg.grad
save_fixture(fixture_path("activations"), {"input": x, **acts}, seed=SEED, note="gelu = nn.GELU() (exact erf)")
