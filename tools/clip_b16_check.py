"""Import and export check at ViT-B/16 shapes (writes nothing to the repository).

A random-initialised open_clip ViT-B-16 (quick_gelu, open_clip's initialisation) and the same
weights as a transformers CLIPModel are saved as an open_clip hub folder with a PyTorch .bin, a
transformers folder (safetensors) and a transformers folder with pytorch_model.bin (torch.save of
the transformers state dict). `mode encode`
encodes fixed images and token ids with each; its features are compared with open_clip's (float64
from the float32 weights). Then `mode convert` writes the .bin folder as a transformers folder and
the transformers folder as an open_clip folder, and transformers / open_clip encode them.

Printed figures are max |a - b| / max |b| over the batch. For scale, the float32 forward of the
writing library itself is printed against its float64 one.

Run: ~/.cache/mode-peers/bin/python tools/clip_b16_check.py --mode .build/release/mode
"""
import argparse
import json
import os
import subprocess
import tempfile

import open_clip
import torch
import transformers
from safetensors.torch import load_file, save_file

from clip_checkpoint_fixtures import PREPROCESS, encode_hf, encode_open_clip, features, rel, to_hf

SEED = 1616
VOCAB = 49408


def b16_config():
    path = os.path.join(os.path.dirname(open_clip.__file__), "model_configs", "ViT-B-16.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["quick_gelu"] = True
    return cfg


def hf_config(cfg):
    v, t = cfg["vision_cfg"], cfg["text_cfg"]
    return transformers.CLIPConfig(
        projection_dim=cfg["embed_dim"], logit_scale_init_value=2.6592,
        text_config=dict(vocab_size=t.get("vocab_size", VOCAB), hidden_size=t["width"], intermediate_size=4 * t["width"],
                         num_hidden_layers=t["layers"], num_attention_heads=t["heads"],
                         max_position_embeddings=t["context_length"], hidden_act="quick_gelu",
                         bos_token_id=VOCAB - 2, eos_token_id=VOCAB - 1, pad_token_id=0),
        vision_config=dict(hidden_size=v["width"], intermediate_size=4 * v["width"], num_hidden_layers=v["layers"],
                           num_attention_heads=v["width"] // v.get("head_width", 64), image_size=v["image_size"],
                           patch_size=v["patch_size"], hidden_act="quick_gelu"))


def run(cmd):
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True, help="path of a built mode executable (a release build)")
    p.add_argument("--threads", default="2")
    a = p.parse_args()
    cfg = b16_config()
    torch.manual_seed(SEED)
    oc = open_clip.CLIP(**cfg).eval()
    hf = transformers.CLIPModel(hf_config(cfg)).eval()
    missing, unexpected = hf.load_state_dict(to_hf(oc.state_dict()), strict=False)
    assert not unexpected and all(k.endswith("position_ids") for k in missing), (missing, unexpected)

    gen = torch.Generator().manual_seed(SEED + 1)
    images = torch.randn(4, 3, 224, 224, generator=gen)
    texts = torch.zeros(4, 77, dtype=torch.int64)
    for b, n in enumerate([5, 20, 40, 75]):
        texts[b, 0] = VOCAB - 2
        texts[b, 1:n + 1] = torch.randint(1, VOCAB - 2, (n,), generator=gen)
        texts[b, n + 1] = VOCAB - 1
    ref_img, ref_txt = encode_open_clip(oc, images, texts)
    with torch.no_grad():
        f32_img, f32_txt = oc.encode_image(images), oc.encode_text(texts)
        h_img, h_txt = features(hf.get_image_features(pixel_values=images)), features(hf.get_text_features(input_ids=texts))
    print(f"open_clip float32 vs float64: image rel {rel(f32_img, ref_img):.2e}, text rel {rel(f32_txt, ref_txt):.2e}")
    print(f"transformers float32 vs open_clip float64: image rel {rel(h_img, ref_img):.2e}, text rel {rel(h_txt, ref_txt):.2e}")

    with tempfile.TemporaryDirectory() as tmp:
        inputs = os.path.join(tmp, "inputs.safetensors")
        save_file({"images": images.contiguous(), "texts": texts.to(torch.int32)}, inputs)
        d = os.path.join(tmp, "open_clip_bin")
        os.makedirs(d)
        torch.save(oc.state_dict(), os.path.join(d, "open_clip_pytorch_model.bin"))
        with open(os.path.join(d, "open_clip_config.json"), "w") as f:
            json.dump({"model_cfg": cfg, "preprocess_cfg": dict(PREPROCESS, size=224)}, f)
        hf.save_pretrained(os.path.join(tmp, "hf"), safe_serialization=True)
        # transformers 5 writes safetensors whatever safe_serialization says: the .bin by torch.save.
        hf.config.save_pretrained(os.path.join(tmp, "hf_bin"))
        torch.save(hf.state_dict(), os.path.join(tmp, "hf_bin", "pytorch_model.bin"))
        for name in ["open_clip_bin", "hf", "hf_bin"]:
            out = os.path.join(tmp, name + ".features.safetensors")
            run([a.mode, "encode", "--checkpoint", os.path.join(tmp, name), "--images", inputs, "--texts", inputs,
                 "--out", out, "--threads", a.threads])
            got = load_file(out)
            print(f"mode encode {name}/ vs open_clip float64: image rel {rel(got['image_features'], ref_img):.2e}, "
                  f"text rel {rel(got['text_features'], ref_txt):.2e}", flush=True)

        out = os.path.join(tmp, "to_hf")
        run([a.mode, "convert", "--checkpoint", os.path.join(tmp, "open_clip_bin"), "--to", out, "--format", "hf"])
        img, txt = encode_hf(transformers.CLIPModel.from_pretrained(out).eval(), images, texts)
        print(f"transformers.CLIPModel.from_pretrained(mode convert --format hf of open_clip_bin/): "
              f"image rel {rel(img, ref_img):.2e}, text rel {rel(txt, ref_txt):.2e}", flush=True)
        out = os.path.join(tmp, "to_oc")
        run([a.mode, "convert", "--checkpoint", os.path.join(tmp, "hf"), "--to", out, "--format", "open_clip"])
        back = open_clip.CLIP(**json.load(open(os.path.join(out, "open_clip_config.json")))["model_cfg"]).eval()
        back.load_state_dict(load_file(os.path.join(out, "open_clip_model.safetensors")))  # strict
        img, txt = encode_open_clip(back, images, texts)
        print(f"open_clip (strict load_state_dict) on mode convert --format open_clip of hf/: "
              f"image rel {rel(img, ref_img):.2e}, text rel {rel(txt, ref_txt):.2e}", flush=True)


if __name__ == "__main__":
    main()
