"""Reference fixtures for the attention and embedding layers (Tests/MoDENNTests/Fixtures/).

For each layer: PyTorch module with random parameters, random input, forward, then backward of
loss = sum(y * dy) for a random dy. Inputs and parameters are drawn in float32; the reference is
computed in float64 from those values and every tensor is stored as float32 (token ids as
int64), so the fixtures carry no float32 error of PyTorch's own. Parameters are stored under
their state_dict names, their gradients as `grad.<name>`; inputs as `x` (or `ids`, `images`),
outputs as `y`, input gradients as `grad.x` / `grad.images`.

Run: python tools/nn_fixtures_attention.py   (writes into Tests/MoDENNTests/Fixtures/, via fixturelib)
"""
import torch

from fixturelib import fixture_path, save_fixture

SEED = 20240611


def save(name, tensors, **meta):
    """Stores float tensors as float32 (ids stay int64), with the seed, library versions and `meta`."""
    save_fixture(fixture_path(name), {k: v.detach() for k, v in tensors.items()}, seed=SEED,
                 loss="sum(y * dy), computed in float64", **meta)


def randn(gen, *shape, std=1.0):
    """float32 draws, returned in float64 (exactly representable in float32)."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * std).double()


def randomize(module, gen, std):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(randn(gen, *p.shape, std=std))


def with_param_grads(module, tensors):
    for name, p in module.named_parameters():
        tensors[name] = p
        tensors["grad." + name] = p.grad
    return tensors


def mha(gen, causal):
    b, t, c, h = 2, 5, 8, 2
    m = torch.nn.MultiheadAttention(c, h, batch_first=True).double()
    randomize(m, gen, std=0.3)
    x = randn(gen, b, t, c).requires_grad_(True)
    mask = torch.empty(t, t, dtype=torch.float64).fill_(float("-inf")).triu_(1) if causal else None
    y, _ = m(x, x, x, need_weights=False, attn_mask=mask)
    dy = randn(gen, b, t, c)
    (y * dy).sum().backward()
    tensors = with_param_grads(m, {"x": x, "y": y, "dy": dy, "grad.x": x.grad})
    name = "mha_causal" if causal else "mha"
    save(name, tensors, module="nn.MultiheadAttention(8, 2, batch_first=True)", batch=b, tokens=t, width=c, heads=h,
         causal=causal, attn_mask="-inf above the diagonal, as open_clip's build_causal_mask" if causal else "none")


def embedding(gen):
    v, c = 11, 6
    m = torch.nn.Embedding(v, c).double()
    randomize(m, gen, std=1.0)
    ids = torch.tensor([[3, 0, 10, 3], [7, 3, 1, 0]], dtype=torch.int64)  # repeats exercise the scatter-add
    y = m(ids)
    dy = randn(gen, *y.shape)
    (y * dy).sum().backward()
    tensors = with_param_grads(m, {"ids": ids, "y": y, "dy": dy})
    save("embedding", tensors, module="nn.Embedding(11, 6)", batch=2, tokens=4)


def positional(gen):
    b, t, c = 3, 5, 6

    class Pos(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.positional_embedding = torch.nn.Parameter(torch.zeros(t, c, dtype=torch.float64))

        def forward(self, x):
            return x + self.positional_embedding

    m = Pos()
    randomize(m, gen, std=1.0)
    x = randn(gen, b, t, c).requires_grad_(True)
    y = m(x)
    dy = randn(gen, b, t, c)
    (y * dy).sum().backward()
    tensors = with_param_grads(m, {"x": x, "y": y, "dy": dy, "grad.x": x.grad})
    save("positional_embedding", tensors, module="x + positional_embedding", batch=b, tokens=t, width=c)


def patch_embedding(gen):
    b, c, p, hgt, wid = 2, 6, 4, 9, 12  # a 2x3 grid; image row 8 lies outside every patch

    class Patches(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, c, kernel_size=p, stride=p, bias=False)

        def forward(self, images):  # as open_clip's VisionTransformer: (B, C, gh, gw) -> (B, N, C)
            x = self.conv1(images)
            return x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)

    m = Patches().double()
    randomize(m, gen, std=0.2)
    images = randn(gen, b, 3, hgt, wid).requires_grad_(True)
    y = m(images)
    dy = randn(gen, *y.shape)
    (y * dy).sum().backward()
    tensors = with_param_grads(m, {"images": images, "y": y, "dy": dy, "grad.images": images.grad})
    save("patch_embedding", tensors, module="conv1 = nn.Conv2d(3, 6, 4, stride=4, bias=False)", batch=b, width=c,
         patch_size=p, image_height=hgt, image_width=wid)


def main():
    gen = torch.Generator().manual_seed(SEED)
    mha(gen, causal=False)
    mha(gen, causal=True)
    embedding(gen)
    positional(gen)
    patch_embedding(gen)


if __name__ == "__main__":
    main()
