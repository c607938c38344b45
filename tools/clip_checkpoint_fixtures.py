"""CLIP checkpoints in open_clip's and in Hugging Face transformers' layout, for the checkpoint
import/export tests (Tests/MoDEModelsTests/Fixtures/checkpoints/).

1. The fixture (always written). Nothing is downloaded: every model starts from random weights.
   - open_clip/: an open_clip CLIP (QuickGELU) with open_clip's initialisation, as open_clip's hub
     layout (open_clip_model.safetensors + open_clip_config.json).
   - hf_quickgelu/: the same weights converted here to a transformers CLIPModel
     (hidden_act "quick_gelu") and saved by transformers (save_pretrained: config.json +
     model.safetensors). The script checks that transformers' features equal open_clip's.
   - hf_gelu/: a transformers CLIPModel with hidden_act "gelu" and transformers' own
     initialisation, saved by transformers.
   - The same weights in PyTorch's own files (torch.save zip archives): open_clip_bin/ (the hub
     layout with open_clip_pytorch_model.bin), epoch_3.pt (an open_clip training checkpoint:
     {"epoch", "name", "state_dict" with DistributedDataParallel's "module." prefix, "optimizer"
     holding AdamW moments}, no config) and hf_quickgelu_bin/ (config.json by transformers +
     pytorch_model.bin by torch.save of the transformers state dict, with the position_ids
     buffers older transformers versions saved).
   - io.safetensors: fixed images and token ids, and each model's image and text features as the
     library that wrote it computes them (float64 from the float32 weights).
   - presets.json: open_clip's model configs (model_configs/*.json) of the presets mode ships.

2. With --mode PATH/TO/mode (run once; writes nothing to the repository): `mode convert` writes
   the open_clip fixture as a transformers folder and the transformers fixtures as open_clip
   folders; transformers.CLIPModel.from_pretrained and open_clip load them and encode the fixture
   inputs; the features are compared with the fixture's.

Run: ~/.cache/mode-peers/bin/python tools/clip_checkpoint_fixtures.py [--mode .build/release/mode]
"""
import argparse
import copy
import json
import os
import subprocess
import tempfile

import open_clip
import torch
import transformers
from safetensors.torch import save_file

from fixturelib import REPO_ROOT, save_fixture

SEED = 5150
FOLDER = os.path.join(REPO_ROOT, "Tests", "MoDEModelsTests", "Fixtures", "checkpoints")
# Every width differs, so a transposed or misplaced tensor cannot go unnoticed.
CFG = {"embed_dim": 12, "quick_gelu": True,
       "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 2, "head_width": 8},
       "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 24, "heads": 3, "layers": 2}}
PREPROCESS = {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
              "interpolation": "bicubic", "resize_mode": "shortest", "size": 16}
PRESETS = ["ViT-B-16", "ViT-B-32", "ViT-L-14", "ViT-H-14", "ViT-B-16-quickgelu", "ViT-B-32-quickgelu", "ViT-L-14-quickgelu"]


def hf_config(act):
    v, t = CFG["vision_cfg"], CFG["text_cfg"]
    return transformers.CLIPConfig(
        projection_dim=CFG["embed_dim"], logit_scale_init_value=2.6592,
        text_config=dict(vocab_size=t["vocab_size"], hidden_size=t["width"], intermediate_size=4 * t["width"],
                         num_hidden_layers=t["layers"], num_attention_heads=t["heads"],
                         max_position_embeddings=t["context_length"], hidden_act=act,
                         bos_token_id=t["vocab_size"] - 2, eos_token_id=t["vocab_size"] - 1, pad_token_id=0),
        vision_config=dict(hidden_size=v["width"], intermediate_size=4 * v["width"], num_hidden_layers=v["layers"],
                           num_attention_heads=v["width"] // v["head_width"], image_size=v["image_size"],
                           patch_size=v["patch_size"], hidden_act=act))


def to_hf(sd):
    """open_clip state dict -> transformers CLIPModel state dict (written from the two modules'
    definitions: nn.MultiheadAttention's in_proj rows are q, k, v; Linear weights are (out, in))."""
    out = {}
    towers = [("visual.transformer.resblocks.", "vision_model.encoder.layers."), ("transformer.resblocks.", "text_model.encoder.layers.")]
    simple = {"visual.class_embedding": "vision_model.embeddings.class_embedding",
              "visual.conv1.weight": "vision_model.embeddings.patch_embedding.weight",
              "visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
              "visual.ln_pre.weight": "vision_model.pre_layrnorm.weight", "visual.ln_pre.bias": "vision_model.pre_layrnorm.bias",
              "visual.ln_post.weight": "vision_model.post_layernorm.weight", "visual.ln_post.bias": "vision_model.post_layernorm.bias",
              "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
              "positional_embedding": "text_model.embeddings.position_embedding.weight",
              "ln_final.weight": "text_model.final_layer_norm.weight", "ln_final.bias": "text_model.final_layer_norm.bias",
              "logit_scale": "logit_scale"}
    inner = {"ln_1.": "layer_norm1.", "ln_2.": "layer_norm2.", "attn.out_proj.": "self_attn.out_proj.",
             "mlp.c_fc.": "mlp.fc1.", "mlp.c_proj.": "mlp.fc2."}
    for k, v in sd.items():
        if k in simple:
            out[simple[k]] = v
        elif k == "visual.proj":
            out["visual_projection.weight"] = v.t().contiguous()
        elif k == "text_projection":
            out["text_projection.weight"] = v.t().contiguous()
        else:
            src, dst = next((s, d) for s, d in towers if k.startswith(s))
            layer, rest = k[len(src):].split(".", 1)
            base = dst + layer + "."
            if rest.startswith("attn.in_proj_"):
                kind = rest[len("attn.in_proj_"):]
                for name, part in zip(["q_proj", "k_proj", "v_proj"], v.chunk(3, dim=0)):
                    out[base + "self_attn." + name + "." + kind] = part.contiguous()
            else:
                pre = next(p for p in inner if rest.startswith(p))
                out[base + inner[pre] + rest[len(pre):]] = v
    return out


def inputs(gen, batch=3):
    images = torch.randn(batch, 3, 16, 16, generator=gen)
    texts = torch.randint(1, 62, (batch, 8), generator=gen)
    texts[:, 0] = 62
    for b, e in enumerate([7, 3, 5][:batch]):
        texts[b, e] = 63
        texts[b, e + 1:] = 0
    return images, texts


def features(out):
    """get_*_features returns a tensor (transformers 4) or an output with pooler_output (5)."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def encode_open_clip(model, images, texts):
    m = model.double()
    with torch.no_grad():
        r = m.encode_image(images.double()), m.encode_text(texts)
    model.float()
    return r


def encode_hf(model, images, texts):
    m = model.double()
    with torch.no_grad():
        r = features(m.get_image_features(pixel_values=images.double())), features(m.get_text_features(input_ids=texts))
    model.float()
    return r


def rel(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max()).item()


def write_fixture():
    os.makedirs(FOLDER, exist_ok=True)
    torch.manual_seed(SEED)
    oc = open_clip.CLIP(**CFG).eval()
    d = os.path.join(FOLDER, "open_clip")
    os.makedirs(d, exist_ok=True)
    save_file({k: v.contiguous() for k, v in oc.state_dict().items()}, os.path.join(d, "open_clip_model.safetensors"),
              metadata={"format": "pt"})
    with open(os.path.join(d, "open_clip_config.json"), "w") as f:
        json.dump({"model_cfg": CFG, "preprocess_cfg": PREPROCESS}, f, indent=2, sort_keys=True)

    hq = transformers.CLIPModel(hf_config("quick_gelu")).eval()
    missing, unexpected = hq.load_state_dict(to_hf(oc.state_dict()), strict=False)
    assert not unexpected and all(k.endswith("position_ids") for k in missing), (missing, unexpected)
    hq.save_pretrained(os.path.join(FOLDER, "hf_quickgelu"), safe_serialization=True)

    # The same weights in PyTorch's own files.
    d = os.path.join(FOLDER, "open_clip_bin")
    os.makedirs(d, exist_ok=True)
    torch.save(oc.state_dict(), os.path.join(d, "open_clip_pytorch_model.bin"))
    with open(os.path.join(d, "open_clip_config.json"), "w") as f:
        json.dump({"model_cfg": CFG, "preprocess_cfg": PREPROCESS}, f, indent=2, sort_keys=True)
    trained = copy.deepcopy(oc)
    opt = torch.optim.AdamW(trained.parameters(), lr=1e-3)
    sum((p * p).sum() for p in trained.parameters()).backward()
    opt.step()
    torch.save({"epoch": 3, "name": "fixture", "state_dict": {"module." + k: v for k, v in oc.state_dict().items()},
                "optimizer": opt.state_dict()}, os.path.join(FOLDER, "epoch_3.pt"))
    # transformers 5 writes safetensors whatever safe_serialization says: the PyTorch file is
    # written here, as older transformers did (with the position_ids buffers they persisted).
    d = os.path.join(FOLDER, "hf_quickgelu_bin")
    os.makedirs(d, exist_ok=True)
    for stale in ["model.safetensors", "pytorch_model.bin"]:
        if os.path.exists(os.path.join(d, stale)):
            os.remove(os.path.join(d, stale))
    hq.config.save_pretrained(d)
    sd = dict(hq.state_dict())
    for tower, n in [("text_model", CFG["text_cfg"]["context_length"]),
                     ("vision_model", (CFG["vision_cfg"]["image_size"] // CFG["vision_cfg"]["patch_size"]) ** 2 + 1)]:
        sd.setdefault(tower + ".embeddings.position_ids", torch.arange(n).unsqueeze(0))
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    assert sorted(os.listdir(d)) == ["config.json", "pytorch_model.bin"], os.listdir(d)
    reread = transformers.CLIPModel.from_pretrained(d).eval()
    assert all(torch.equal(a, b) for a, b in zip(reread.state_dict().values(), hq.state_dict().values()))

    torch.manual_seed(SEED + 2)
    hg = transformers.CLIPModel(hf_config("gelu")).eval()
    hg.save_pretrained(os.path.join(FOLDER, "hf_gelu"), safe_serialization=True)

    images, texts = inputs(torch.Generator().manual_seed(SEED + 1))
    tensors = {"images": images, "texts": texts.to(torch.int32)}
    oc_img, oc_txt = encode_open_clip(oc, images, texts)
    tensors.update({"open_clip.image_features": oc_img, "open_clip.text_features": oc_txt})
    for name, m in [("hf_quickgelu", hq), ("hf_gelu", hg)]:
        img, txt = encode_hf(m, images, texts)
        tensors.update({name + ".image_features": img, name + ".text_features": txt})
    print(f"transformers (converted here) vs open_clip, QuickGELU: image rel {rel(tensors['hf_quickgelu.image_features'], oc_img):.2e}, "
          f"text rel {rel(tensors['hf_quickgelu.text_features'], oc_txt):.2e}")
    assert rel(tensors["hf_quickgelu.image_features"], oc_img) < 1e-10 and rel(tensors["hf_quickgelu.text_features"], oc_txt) < 1e-10
    save_fixture(os.path.join(FOLDER, "io.safetensors"), tensors, seed=SEED, open_clip=open_clip.__version__,
                 transformers=transformers.__version__, reference="float64 from the float32 weights, by the library that wrote each model")

    configs = os.path.join(os.path.dirname(open_clip.__file__), "model_configs")
    presets = {}
    for name in PRESETS:
        with open(os.path.join(configs, name + ".json")) as f:
            presets[name] = json.load(f)
    with open(os.path.join(FOLDER, "presets.json"), "w") as f:
        json.dump({"open_clip": open_clip.__version__, "model_configs": presets}, f, indent=1, sort_keys=True)
    print("wrote", FOLDER)
    return images, texts, tensors


def run(cmd):
    print("$", " ".join(cmd))
    subprocess.run(cmd, check=True)


def check_mode(mode, images, texts, ref):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "hf")
        run([mode, "convert", "--checkpoint", os.path.join(FOLDER, "open_clip"), "--to", out, "--format", "hf"])
        m = transformers.CLIPModel.from_pretrained(out).eval()
        img, txt = encode_hf(m, images, texts)
        print(f"transformers.CLIPModel.from_pretrained(mode convert --format hf of open_clip/): "
              f"image rel {rel(img, ref['open_clip.image_features']):.2e}, text rel {rel(txt, ref['open_clip.text_features']):.2e}")
        for name in ["hf_quickgelu", "hf_gelu"]:
            out = os.path.join(tmp, name)
            run([mode, "convert", "--checkpoint", os.path.join(FOLDER, name), "--to", out, "--format", "open_clip"])
            cfg = json.load(open(os.path.join(out, "open_clip_config.json")))["model_cfg"]
            oc = open_clip.CLIP(**cfg).eval()
            from safetensors.torch import load_file
            oc.load_state_dict(load_file(os.path.join(out, "open_clip_model.safetensors")))  # strict
            img, txt = encode_open_clip(oc, images, texts)
            print(f"open_clip on mode convert --format open_clip of {name}/: image rel {rel(img, ref[name + '.image_features']):.2e}, "
                  f"text rel {rel(txt, ref[name + '.text_features']):.2e}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--mode", help="path of a built mode executable: also check mode convert's output")
    a = p.parse_args()
    imgs, txts, ref = write_fixture()
    if a.mode:
        check_mode(a.mode, imgs, txts, ref)
