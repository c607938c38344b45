"""Pretrained-seed checkpoints for the `mode train --init` tests (Tests/MoDEModelsTests/Fixtures/checkpoints/seed/).

A seed must take the CLIP tokenizer's ids, so its vocabulary is 49408 rows. To keep the files
small, the token embedding is a strided view (row i = v[i : i + width]) of one random vector of
49408 + width - 1 floats: torch.save stores the view's storage once, with its strides, so each file
holds about 200 KB. Everything else is open_clip's initialisation of a one-layer CLIP (QuickGELU).

- epoch_1.pt: an open_clip training checkpoint ({"epoch", "name", "state_dict" with
  DistributedDataParallel's "module." prefix}), no config beside it (train with --config seed.json).
- seed.json: its open_clip model config.
- open_clip_bin/: open_clip's hub layout (open_clip_config.json + open_clip_pytorch_model.bin).
- hf/: a transformers CLIP folder (config.json written by transformers.CLIPConfig + pytorch_model.bin
  holding the same weights under transformers' names). The script loads it with
  transformers.CLIPModel.from_pretrained and checks its features equal open_clip's.

Run: ~/.cache/mode-peers/bin/python tools/clip_seed_fixtures.py
"""
import json
import os

import open_clip
import torch
import transformers

from clip_checkpoint_fixtures import FOLDER, PREPROCESS, encode_hf, encode_open_clip, rel, to_hf

SEED = 6161
OUT = os.path.join(FOLDER, "seed")
VOCAB = 49408
CFG = {"embed_dim": 16, "quick_gelu": True,
       "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "head_width": 8},
       "text_cfg": {"context_length": 8, "vocab_size": VOCAB, "width": 16, "heads": 2, "layers": 1}}


def hf_config():
    v, t = CFG["vision_cfg"], CFG["text_cfg"]
    return transformers.CLIPConfig(
        projection_dim=CFG["embed_dim"], logit_scale_init_value=2.6592,
        text_config=dict(vocab_size=VOCAB, hidden_size=t["width"], intermediate_size=4 * t["width"],
                         num_hidden_layers=t["layers"], num_attention_heads=t["heads"],
                         max_position_embeddings=t["context_length"], hidden_act="quick_gelu",
                         bos_token_id=VOCAB - 2, eos_token_id=VOCAB - 1, pad_token_id=0),
        vision_config=dict(hidden_size=v["width"], intermediate_size=4 * v["width"], num_hidden_layers=v["layers"],
                           num_attention_heads=v["width"] // v["head_width"], image_size=v["image_size"],
                           patch_size=v["patch_size"], hidden_act="quick_gelu"))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(SEED)
    oc = open_clip.CLIP(**CFG).eval()
    width = CFG["text_cfg"]["width"]
    windows = (torch.randn(VOCAB + width - 1) * 0.02).as_strided((VOCAB, width), (1, 1))
    with torch.no_grad():
        oc.token_embedding.weight.copy_(windows)
    sd = {k: (windows if k == "token_embedding.weight" else v) for k, v in oc.state_dict().items()}

    torch.save({"epoch": 1, "name": "seed", "state_dict": {"module." + k: v for k, v in sd.items()}},
               os.path.join(OUT, "epoch_1.pt"))
    with open(os.path.join(OUT, "seed.json"), "w") as f:
        json.dump(CFG, f, indent=2, sort_keys=True)
    d = os.path.join(OUT, "open_clip_bin")
    os.makedirs(d, exist_ok=True)
    torch.save(sd, os.path.join(d, "open_clip_pytorch_model.bin"))
    with open(os.path.join(d, "open_clip_config.json"), "w") as f:
        json.dump({"model_cfg": CFG, "preprocess_cfg": PREPROCESS}, f, indent=2, sort_keys=True)
    d = os.path.join(OUT, "hf")
    hf_config().save_pretrained(d)
    torch.save(to_hf(sd), os.path.join(d, "pytorch_model.bin"))

    # The folders as their libraries read them: the same features.
    gen = torch.Generator().manual_seed(SEED + 1)
    images = torch.randn(2, 3, 16, 16, generator=gen)
    texts = torch.tensor([[VOCAB - 2, 320, 1125, VOCAB - 1, 0, 0, 0, 0], [VOCAB - 2, 49000, 7, 12, 99, 5, 3, VOCAB - 1]])
    hf = transformers.CLIPModel.from_pretrained(d).eval()
    reread = open_clip.CLIP(**CFG).eval()
    reread.load_state_dict(torch.load(os.path.join(OUT, "open_clip_bin", "open_clip_pytorch_model.bin"), weights_only=True))
    ref_img, ref_txt = encode_open_clip(oc, images, texts)
    for name, (img, txt) in [("hf (from_pretrained)", encode_hf(hf, images, texts)),
                             ("open_clip_bin (load_state_dict)", encode_open_clip(reread, images, texts))]:
        print(f"{name} vs open_clip: image rel {rel(img, ref_img):.2e}, text rel {rel(txt, ref_txt):.2e}")
        assert rel(img, ref_img) < 1e-10 and rel(txt, ref_txt) < 1e-10
    for root, _, files in os.walk(OUT):
        for f in sorted(files):
            print(f"{os.path.getsize(os.path.join(root, f)):>8} {os.path.relpath(os.path.join(root, f), OUT)}")


if __name__ == "__main__":
    main()
