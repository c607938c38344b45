"""Reference fixtures for the Swift CLIP tokenizer (Tests/MoDETokenizersTests/Fixtures).

Writes, each recording the seed and the Python, open_clip, ftfy and regex versions (and the
Unicode version of Python's unicodedata):

- clip_tokenizer_cases.json: >= 1,000 varied strings (captions, Unicode scripts, emoji,
  punctuation, numbers, HTML references, contractions, odd whitespace, control characters,
  mojibake, random fuzz, texts longer than the context) with open_clip's cleaned text;
- clip_tokenizer_ids.safetensors: "ids", int32 (N, 77), open_clip.tokenize(strings) row by row
  (written through fixturelib, which adds the torch / safetensors / numpy versions);
- clip_text_tables.json: the character classes behind the tokenizer, checked over all code
  points by the tests (regex's \\p{L} / \\p{N} / other class; Python's str.lower, NFC, isalnum
  and re's \\d), plus cases
  for ftfy's mojibake heuristic and repair, and for the HTML reference decoders.

JSON strings hold the text unescaped except for control characters; read them with a parser
that keeps a leading U+FEFF (Foundation's JSONDecoder does, JSONSerialization drops it).

Run with the project's venv (open_clip, ftfy, regex installed):

    python tools/clip_tokenizer_fixture.py
"""
import html
import html.entities
import json
import os
import random
import re
import sys
import unicodedata

import ftfy
import ftfy.bad_codecs  # noqa: F401
import open_clip
import regex
import torch
from fixturelib import save_fixture
from ftfy import badness, chardata, fixes
from open_clip import tokenizer as oc_tokenizer

SEED = 20240611
CONTEXT_LENGTH = 77
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Tests", "MoDETokenizersTests", "Fixtures")

rng = random.Random(SEED)


# ---------------------------------------------------------------------------------------------
# Strings

HAND_WRITTEN = [
    "", " ", "a", "A", "I", "!", "?", "...", "a photo of a cat", "A Photo Of A Dog.",
    "a photo of a {}.", "itap of a {}.", "a bad photo of the {}.", "a origami {}.",
    "a photo of the large {}.", "a {} in a video game.", "art of the {}.", "a photo of the small {}.",
    "This is a photo of a cat sitting on a mat", "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "the quick brown fox jumps over the lazy dog", "Hello, World!", "hello world", "Hello\tWorld",
    "Hello\nWorld", "Hello\r\nWorld", "Hello\rWorld", "line one\nline two\nline three",
    "  leading and trailing spaces  ", "multiple     spaces    between", "\t\ttabs\t\t",
    "\u00a0non-breaking\u00a0spaces\u00a0", "em\u2003space and thin\u2009space", "ideographic\u3000space",
    "zero\u200bwidth\u200bspace", "line\u2028separator", "para\u2029separator", "next\x85line",
    "form\x0cfeed", "vertical\x0btab", "file\x1cseparator", "unit\x1fseparator",
    "mongolian\u180evowel separator", "narrow\u202fnbsp", "medium\u205fmath space", "ogham\u1680mark",
    # contractions
    "don't", "Don't", "DON'T", "I'm", "I'M", "you're", "YOU'RE", "we've", "WE'VE", "she'll", "SHE'LL",
    "he'd", "HE'D", "it's", "IT'S", "can't won't shouldn't", "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D", "rock 'n' roll", "'quoted'", "''", "'", "o'clock", "y'all'd've",
    "the dog's bone", "the dogs' bones", "it’s curly", "don’t stop", "‘single’ “double”",
    "it\u02bcs modifier apostrophe", "'ſ long s", "he'ſ", "'ſtart", "'\u017f'",
    "James’s", "Rock‘n’Roll", "„German“ quotes", "«French» quotes", "‹single guillemets›",
    # special tokens in text
    "<start_of_text>", "<end_of_text>", "<START_OF_TEXT>", "<End_Of_Text>",
    "a <start_of_text> b <end_of_text> c", "<start_of_text><end_of_text>", "<ſtart_of_text>",
    "<start_of_text", "start_of_text>", "<|endoftext|>", "<startoftext>", "<s> </s> <pad> <unk>",
    "<b>bold</b> text", "a < b and c > d", "x<y", "1 < 2 &amp; 3 > 2",
    # numbers
    "0", "7", "42", "1234567890", "3.14159", "-273.15", "1,000,000", "$19.99", "€5", "£100",
    "¥1000", "100%", "50/50", "24/7", "1st 2nd 3rd 4th", "2023-01-15", "12:30:45", "+1 (555) 123-4567",
    "v1.2.3", "x86_64", "1e10", "0x1F", "Ⅻ roman", "ⅷ", "①②③", "½ ¼ ¾", "x² + y³", "H₂O",
    "٠١٢٣٤٥٦٧٨٩", "०१२३४", "๑๒๓", "𝟙𝟚𝟛", "10⁻³", "№ 5", "1½ cups",
    # accents and scripts
    "café", "naïve", "résumé", "Crème Brûlée", "Ångström", "Øresund", "straße", "STRASSE",
    "İstanbul", "ıi", "Iİıi", "Ĳsselmeer", "ĳs", "œuvre", "Œuvre", "æther", "Æsir",
    "e\u0301", "cafe\u0301", "A\u030a", "n\u0303", "o\u0308\u0304", "\u0301\u0301 leading marks",
    "Ελληνικά", "ΟΔΟΣ", "Σ", "ΑΣ", "ΑΣ.", "ΣΑ", "Α'Σ", "ΑΣ'", "ὈΔΥΣΣΕΎΣ", "ᾳ ᾼ", "α\u0345", "\u0345",
    "!\u0345!", "a\u0345b", "Русский текст", "ПРИВЕТ МИР", "Україна", "Қазақ", "Српски",
    "العربية", "مرحبا بالعالم", "עברית", "שלום", "हिन्दी", "नमस्ते", "বাংলা", "ਪੰਜਾਬੀ", "தமிழ்",
    "తెలుగు", "ಕನ್ನಡ", "മലയാളം", "ไทย", "ภาษาไทย", "ລາວ", "မြန်မာ", "ខ្មែរ", "ქართული", "Հայերեն",
    "አማርኛ", "ᏣᎳᎩ", "中文", "你好世界", "漢字", "日本語", "ひらがな", "カタカナ", "ｶﾀｶﾅ", "ﾊﾟﾋﾟ", "한국어",
    "\u1100\u1161\u11a8", "안녕하세요", "ᄒᆞᆫ", "Tiếng Việt", "Türkçe", "Polski", "Čeština", "Română",
    "Íslenska", "Føroyskt", "Dansk", "Svenska", "Suomi", "Eesti", "Latviešu", "Lietuvių", "Magyar",
    "Shqip", "Malti", "Cymraeg", "Gàidhlig", "Euskara", "Català", "Galego", "Português", "Español",
    # ligatures and width forms
    "ﬁne ﬂour", "ﬀ ﬃ ﬄ ﬅ ﬆ", "Ǳ ǲ ǳ Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ", "ŉ", "ＡＢＣ ａｂｃ １２３", "ＬＯＵＤ　ＮＯＩＳＥＳ",
    "Ｕﾀｰﾝ", "ﾞﾟ", "ﾡﾢﾣ", "￠￡￢￣￤￥￦", "￨￩￪￫￬￭￮", "｟｠｡｢｣､･", "＜tag＞",
    # emoji
    "😀", "I love pizza 🍕🍕🍕", "🐶🐱🐭", "👍🏽", "👨\u200d👩\u200d👧\u200d👦 family", "🇫🇷🇩🇪🇯🇵",
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "1️⃣ 2️⃣", "❤️", "❤", "☺️", "✔ done",
    "🔥fire🔥", "🙂🙃", "👩🏿\u200d💻", "🏳️\u200d🌈", "🫠🫨", "🤷\u200d♂️", "©®™", "→←↑↓", "★☆✦",
    # punctuation
    "Hello!!!", "What?!", "Wait...", "Wait…", "—em dash—", "–en dash–", "hyphen-ated-word", "under_score",
    "snake_case_name", "camelCaseName", "PascalCase", "dot.separated.words", "a/b/c", "C:\\path\\to",
    "email@example.com", "https://www.example.com/path?q=1&r=2#frag", "#hashtag @mention", "(parens) [brackets] {braces}",
    "¿Qué? ¡Sí!", "«»‹›", "•bullet", "·middle dot", "§ 12", "¶", "†‡", "‰", "¬", "¦", "¨", "¯",
    "¸", "´", "`backtick`", "~tilde~", "^caret^", "*stars*", "**bold**", "__init__", "--flag",
    "=== heading ===", "|pipe|", "\"quoted\"", "'single'", ";semi;", ":colon:", ",comma,", ".",
    # HTML references
    "&amp;", "&amp;amp;", "&amp;amp;amp;", "&amp;amp;amp;amp;amp;", "Tom &amp; Jerry", "Tom &amp;amp; Jerry",
    "&#39;", "&#39;s", "it&#39;s", "it&amp;#39;s", "it&amp;amp;#39;s", "&quot;hello&quot;",
    "&amp;quot;hello&amp;quot;", "&lt;b&gt;", "&amp;lt;b&amp;gt;", "&nbsp;", "a&nbsp;b", "&eacute;",
    "&EACUTE;", "&Eacute;", "P&EACUTE;REZ", "BUNDESSTRA&SZLIG;E", "&ntilde; &Ntilde; &NTILDE; &nTILDE;",
    "&hellip;", "&mdash;", "&ndash;", "&rsquo;", "&lsquo;", "&ldquo;&rdquo;", "&copy; 2020", "&copy2020",
    "&copy", "&amp", "&ampere", "&notit;", "&notin;", "&not", "this&not that", "&#x2019;", "&#8217;",
    "&#X41;", "&#x41", "&#65", "&#65;", "&#0;", "&#128;", "&#129;", "&#150;", "&#159;", "&#13;",
    "&#xD800;", "&#xDFFF;", "&#1114111;", "&#1114112;", "&#99999999999999999999;", "&#x110000;",
    "&#1;", "&#11;", "&#127;", "&#xFDD0;", "&#xFFFE;", "&#x1FFFF;", "&#59;", "&#38;", "&#38;amp;",
    "&#x26;amp;", "&#;", "&#x;", "&#xZZ;", "&;", "& amp;", "&&amp;", "&amp;&amp;", "&AMP;", "&AMP",
    "&LT;", "&Gt;", "&Jscr;ohn &HilbertSpace;ancock", "&checkmark;", "&NotNestedGreaterGreater;",
    "&CounterClockwiseContourIntegral;", "&ThisIsNotAnEntityButItIsVeryLongIndeed;", "&abcdefghijklmnopqrstuvwxyz123;",
    "&acE;", "&nGt;", "&fjlig;", "&frac12;", "&FRAC12;", "&sup2;", "&SUP2;", "&times;", "&TIMES;", "&divide;",
    "&lt;script&gt;alert(1)&lt;/script&gt;", "<p>&amp;</p>", "a < b &amp; c", "a &lt; b &amp; c",
    "line1 &amp;\nline2 < &amp;", "line1 <\nline2 &amp;", "&amp;\n<", "&eacute;&eacute;&eacute;",
    "caf&eacute; au lait", "na&iuml;ve", "&Agrave; la carte", "&aacute;&Aacute;&AACUTE;",
    # control characters and escapes
    "bell\x07char", "null\x00char", "esc\x1b[31mred\x1b[0m text", "\x1b[1;32mgreen\x1b[m", "\x1b[٣m arabic digit",
    "\x1bnot an escape", "del\x7fchar", "\ufeffbom start", "mid\ufeffbom", "\ufffc object", "\ufff9annotation\ufffb",
    "\u206adeprecated\u206f", "lrm\u200emark", "rlm\u200fmark", "zwj\u200djoiner", "zwnj\u200cnon-joiner",
    "\u202aembedding\u202c", "soft\u00adhyphen", "\x80\x81\x8d\x8f\x90\x9d\x9f", "c1 \x93quoted\x94",
    "\x85ellipsis", "tag\U000e0041chars", "\U0001d173music\U0001d17a", "private\ue000use", "\U000f0000plane15",
    "noncharacter\ufdd0", "\ufffd replacement", "\U0010ffff max",
    # mojibake (common web forms)
    "cafÃ©", "CafÃ©", "Ã©tÃ©", "naÃ¯ve", "rÃ©sumÃ©", "SchÃ¶ne GrÃ¼ÃŸe", "Ã  la mode", "voilÃ  le travail",
    "Ã\xa0 la mode", "Ã la mode", "fÃ cil", "Ã s vezes", "Ã quele", "â€œquotedâ€\x9d", "â€œquotedâ€�",
    "donâ€™t", "itâ€™s", "â€”", "â€“", "â€¦", "â€¢ bullet", "Â£100", "Â©2020", "Â®", "Â ", "Â\xa0",
    "Ã¼ber", "Ã¶", "Ã¤", "ÐŸÑ€Ð¸Ð²ÐµÑ‚", "Ð¡ÐµÑ€Ð³ÐµÐ¹", "Ø§Ù„Ø¹Ø±Ø¨ÙŠØ©", "×©×œ×•×", "æ—¥æœ¬èªž",
    "ä½ å¥½", "í•œêµ\xadì–´", "ðŸ˜€", "ðŸ‘\x8d", "âœ” No problems", "&macr;\\_(ã\x83\x84)_/&macr;",
    "Broken text&hellip; it&#x2019;s ﬂubberiﬁc!", "sÃ³", "Ãºnico", "Ã±", "Ã‘", "Ã‡", "Ã§",
    "The Mona Lisa doesnÃƒÂ¢Ã¢â€šÂ¬Ã¢â€žÂ¢t have eyebrows.", "Ã¢â‚¬Å“doubleÃ¢â‚¬Â\x9d",
    "├ó", "┬á", "ÔÇ£", "ÔÇÖ", "√©", "‚Äú", "‚Äù", "‚Äô", "вЂњ", "вЂ™", "РїСЂРёРІРµС‚",
    "Ã©Ã©Ã©Ã©Ã©", "ÃƒÂ©", "Ã", "Ã.", "Ãx", "ÂÃ", "Ã€", "Ãœ", "Ã„", "Ã–", "Ã…", "Ã˜", "Ã†",
    "l’Ã©tÃ©", "cafÃ© and café", "rÃ©sumÃ© vs résumé", "Ã©\u00e9", "ĂŽle", "Å½iÅ¾kov", "Ä\x8dokolÃ¡da",
    "ÐŸ", "Ñ", "Ð", "Ø", "Ù", "ØØ", "Ø§Ù", "Ø¹Ù„ÙŠ", "à¤¹à¤¿à¤¨à¥\x8dà¤¦à¥€", "à¸ à¸²à¸©à¸²",
    "Ã\x81", "Ã\x8d", "Ã\x8f", "Ã\x90", "Ã\x9d", "â€\x9d", "â€\x9c", "\x93smart\x94 quotes", "\x80 euro",
    "Ã© \x80", "cafÃ©\nnext line", "cafÃ©\r\nnext", "Ã©À\n", "Ã©À\nfoo", "Ã©À", "ÃÀ", "Ã\x80",
    "í\xa0½í¸\x80", "í\xa0½í¸\x80 cesu", "Ã\x80Ã\x80", "À\x80", "Ã©?", "Ã?", "â€?", "â€\x1a",
    "â€œ like this â€�", "Ã©\ufffd", "\ufffd\ufffd", "Ã©\x1a", "\x1a",
]

NOUNS = ["cat", "dog", "car", "tree", "house", "mountain", "beach", "city", "river", "bird", "flower",
         "pizza", "bicycle", "airplane", "train", "boat", "horse", "elephant", "giraffe", "zebra",
         "laptop", "phone", "book", "chair", "table", "lamp", "sunset", "forest", "lake", "bridge",
         "street", "market", "church", "castle", "garden", "kitchen", "bedroom", "office", "stadium",
         "guitar", "piano", "camera", "shoe", "dress", "t-shirt", "jacket", "watch", "ring", "necklace"]
ADJS = ["red", "blue", "green", "old", "new", "small", "large", "beautiful", "vintage", "modern",
        "wooden", "golden", "dark", "bright", "cozy", "rustic", "minimalist", "colorful", "snowy",
        "sunny", "rainy", "abstract", "realistic", "cute", "scary", "tiny", "huge", "handmade"]
TEMPLATES = ["a photo of a {a} {n}", "A {a} {n} on a {a2} {n2}", "{A} {N} FOR SALE!!!",
             "{n} | {a} {n2} | free shipping", "Stock Photo - {a} {n} isolated on white background",
             "{a} {n} with {n2}s in the background, 4k, HDR", "Buy {a} {n} - {price}",
             "{n}_{n2}_{num}.jpg", "IMG_{num}.JPG", "Close-up of a {a} {n} ({num} x {num})",
             "{A} {N}: the {a}est {n} you'll ever see", "{n} & {n2} &amp; {n}s",
             "\"{a} {n}\" by artist - {num}", "#{n} #{a} #{n2}love", "{N}'S {A} {N2}",
             "{a} {n} — {a2} {n2} – {num}", "{n}…{n2}…", "{a} {n} <br> {n2}", "{a}-{n}-{num}",
             "Wallpaper {num}x{num} {a} {n}", "{a} {n} (© {num})", "{a} {n}\n{a2} {n2}",
             "   {a}   {n}   ", "{n}\t{n2}\t{num}", "{A} {n} {EMOJI}", "{n} {EMOJI}{EMOJI} {n2}"]
EMOJI = ["😀", "😂", "🥰", "😎", "🐶", "🐱", "🌸", "🔥", "✨", "🎉", "🍕", "🚗", "❤️", "👍", "🇺🇸",
         "👩\u200d🍳", "🏠", "🌍", "⚽", "🎸"]

SCRIPT_SNIPPETS = [
    "Ελληνική γλώσσα ΣΟΦΙΑ", "Κόσμε", "ΑΘΗΝΑΣ ΟΔΟΣ", "Москва — столица России", "Київ", "България",
    "Беларусь", "Монгол", "القاهرة عاصمة مصر", "فارسی", "اردو", "עִבְרִית", "ירושלים", "मुंबई शहर",
    "कोलकाता", "ঢাকা", "கொழும்பு", "ශ්‍රී ලංකා", "กรุงเทพมหานคร", "ພາສາລາວ", "ရန်ကုန်", "ភ្នំពេញ",
    "東京タワー", "大阪城", "北京天安门", "上海外滩", "香港維多利亞港", "台北101", "서울 남산타워", "부산",
    "ᐃᓄᒃᑎᑐᑦ", "ꦧꦱꦗꦮ", "ትግርኛ", "ⴰⵎⴰⵣⵉⵖ", "Ꭰ", "ᚠᚢᚦ", "𐌰𐌱", "𓀀𓀁", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐁𝐨𝐥𝐝",
    "ℌ𝔢𝔩𝔩𝔬", "Ⓐⓑⓒ", "🅰🅱", "Ⅰ Ⅱ Ⅲ Ⅳ", "ⅰⅱⅲ", "〇一二三", "壱弐参", "𠀀𠀁", "Ꜳ ꜳ", "Ǆ", "ǅ", "ß ẞ",
    "ﬀ", "ﬆ", "ϐ ϑ ϕ ϖ ϰ ϱ ϵ", "ς σ Σ", "ǰ", "ŉ", "ΐ ΰ", "ẖ ẗ ẘ ẙ ẚ", "ﬓ ﬔ", "ᾈ ᾉ ᾼ ῌ ῼ", "K Å Ω",
    "\u1c89", "\ua7cb", "\U0001e900", "\u10a0 \u2d00", "\u13a0 \uab70", "\u1e9e", "\u0130\u0307",
]

FUZZ_POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u3000\u200b")
    + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    + list("éèêëàâäçñøåæœßÉÀÇÑØÅÆŒİıſΣσςΑΩЖжЯя")
    + list("\u0300\u0301\u0308\u0327\u0345\u034f\u0651\u093c\u200d\u200c\ufe0f")
    + list("中日本語한국ひカｶﾞ١٢३")
    + list("😀👍🏽🇫🇷✔❤")
    + list("\x00\x07\x1b\x7f\x80\x93\x9d\ufeff\u2028\u2029\ufffd")
    + list("ÃÂâ€™œ\x9d©®°±²³µ¶·»¼½¾¿ÐÑØÙ├┬ÔÇ√‚Äв")
    + ["&amp;", "&#39;", "&quot;", "&lt;", "&gt;", "&nbsp;", "&eacute;", "&EACUTE;", "&#x2019;",
       "&amp;amp;", "'s", "'t", "'re", "'ll", "<start_of_text>", "<end_of_text>", "\x1b[0m"]
)


def caption():
    t = rng.choice(TEMPLATES)
    a, a2, n, n2 = rng.choice(ADJS), rng.choice(ADJS), rng.choice(NOUNS), rng.choice(NOUNS)
    return (t.replace("{a}", a).replace("{a2}", a2).replace("{n}", n).replace("{n2}", n2)
            .replace("{A}", a.upper()).replace("{N}", n.upper()).replace("{N2}", n2.upper())
            .replace("{num}", str(rng.randint(0, 99999)))
            .replace("{price}", rng.choice(["$9.99", "€ 12,50", "£1,299.00", "¥3000", "10 USD"]))
            .replace("{EMOJI}", rng.choice(EMOJI)))


def random_case(s):
    mode = rng.random()
    if mode < 0.2:
        return s.upper()
    if mode < 0.35:
        return s.title()
    return s


MOJIBAKE_ENCODINGS = ["latin-1", "windows-1252", "sloppy-windows-1252", "windows-1251", "windows-1250",
                      "windows-1253", "windows-1254", "windows-1257", "iso-8859-2", "macroman", "cp437",
                      "sloppy-windows-1251", "sloppy-windows-1250"]


def mojibake(text):
    """UTF-8 text read with a single-byte code page, with some of the usual extra damage."""
    enc = rng.choice(MOJIBAKE_ENCODINGS)
    raw = text.encode("utf-8")
    out = raw.decode(enc, errors="replace")
    r = rng.random()
    if r < 0.15:
        out = out.replace("\xa0", " ")
    elif r < 0.2:
        out = out.replace("\ufffd", "?")
    elif r < 0.3 and len(out) > 4:
        cut = rng.randint(1, len(out) - 1)
        out = out[:cut] + text[:8] + out[cut:]
    elif r < 0.35:
        out = out + " " + rng.choice(SCRIPT_SNIPPETS)
    if rng.random() < 0.2:
        out = out.encode("utf-8").decode(rng.choice(["latin-1", "sloppy-windows-1252"]))  # twice
    return out


def entity_soup():
    names = list(html.entities.html5)
    parts = []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.35:
            parts.append("&" + rng.choice(names))
        elif r < 0.45:
            name = rng.choice(names)
            parts.append("&" + name.upper())
        elif r < 0.6:
            parts.append("&#" + str(rng.choice([rng.randint(0, 300), rng.randint(0, 0x11000), rng.randint(0x1F300, 0x1F64F)]))
                         + rng.choice([";", ";", ""]))
        elif r < 0.7:
            parts.append("&#x" + format(rng.randint(0, 0x2FFFF), rng.choice(["x", "X"])) + rng.choice([";", ""]))
        elif r < 0.8:
            parts.append("&amp;" * rng.randint(1, 3) + rng.choice(["quot;", "#39;", "lt;", "eacute;", "amp;", "hellip;"]))
        else:
            parts.append(rng.choice(NOUNS))
        parts.append(rng.choice(["", " ", "", "x", ";"]))
    return "".join(parts)


def fuzz(lo=1, hi=30):
    return "".join(rng.choice(FUZZ_POOL) for _ in range(rng.randint(lo, hi)))


def long_text():
    words = []
    for _ in range(rng.randint(60, 160)):
        r = rng.random()
        if r < 0.7:
            words.append(rng.choice(NOUNS + ADJS))
        elif r < 0.8:
            words.append(rng.choice(SCRIPT_SNIPPETS))
        elif r < 0.9:
            words.append(str(rng.randint(0, 10 ** rng.randint(1, 8))))
        else:
            words.append(rng.choice([",", ".", "!", "&amp;", "—", "😀", "don't", "ÃƒÂ©"]))
    return " ".join(words)


def build_strings():
    strings = list(HAND_WRITTEN)
    strings += [random_case(caption()) for _ in range(150)]
    strings += SCRIPT_SNIPPETS
    strings += [" ".join(rng.sample(SCRIPT_SNIPPETS, rng.randint(2, 4))) for _ in range(30)]
    base = [s for s in HAND_WRITTEN + SCRIPT_SNIPPETS if any(ord(c) > 127 for c in s) and not any(0xD800 <= ord(c) <= 0xDFFF for c in s)]
    strings += [mojibake(rng.choice(base + [caption() + " café ñ ü €"])) for _ in range(150)]
    strings += [entity_soup() for _ in range(80)]
    strings += [fuzz() for _ in range(110)]
    strings += [long_text() for _ in range(25)]
    strings += ["&amp;" * k + "amp; end" for k in range(1, 5)]
    strings += ["word " * k for k in (75, 76, 77, 78, 200)]
    strings += ["a" * k for k in (1, 2, 10, 100, 400)]
    strings += ["!" * k for k in (1, 5, 80)]
    seen, out = set(), []
    for s in strings:
        if s not in seen and not any(0xD800 <= ord(c) <= 0xDFFF for c in s):
            seen.add(s)
            out.append(s)
    return out


# ---------------------------------------------------------------------------------------------
# Tables

def ranges_of(pred):
    out, start = [], None
    for i in range(0x110001):
        m = i < 0x110000 and not 0xD800 <= i <= 0xDFFF and pred(chr(i))
        if m and start is None:
            start = i
        if not m and start is not None:
            out.append([start, i - 1])
            start = None
    return out


def build_tables():
    letter = regex.compile(r"[\p{L}]", regex.IGNORECASE)
    number = regex.compile(r"[\p{N}]", regex.IGNORECASE)
    other = regex.compile(r"[^\s\p{L}\p{N}]", regex.IGNORECASE)
    space = regex.compile(r"\s", regex.IGNORECASE)
    lower, nfc = {}, {}
    for i in range(0x110000):
        if 0xD800 <= i <= 0xDFFF:
            continue
        c = chr(i)
        if c.lower() != c:
            lower[format(i, "X")] = [ord(x) for x in c.lower()]
        if unicodedata.normalize("NFC", c) != c:
            nfc[format(i, "X")] = [ord(x) for x in unicodedata.normalize("NFC", c)]

    # ftfy heuristic: random short strings over the characters its rules mention.
    pool = sorted(set(
        "".join(chr(i) for i in range(0x80, 0x250))
        + "".join(c for body in badness.MOJIBAKE_CATEGORIES.values() for c in body if c != "-")
        + "ΑΒΓΔΞΟΣΩαβγδσωВГРСЂўЉљ€™†‡‰‹›“”‘’‚„•–—…√∂≠≤≥≈ΆΈ" + "azAZ .,?!_0\n\t"
    ))
    bad_strings = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 6))) for _ in range(2000)]
    bad_cases = {"strings": bad_strings, "expected": [badness.is_bad(s) for s in bad_strings]}

    # ftfy.fix_encoding on generated mojibake (and on text that is fine).
    base = [s for s in HAND_WRITTEN + SCRIPT_SNIPPETS if not any(0xD800 <= ord(c) <= 0xDFFF for c in s)]
    enc_cases = []
    for _ in range(600):
        src = rng.choice(base) if rng.random() < 0.6 else caption() + " " + rng.choice(SCRIPT_SNIPPETS)
        s = mojibake(src) if rng.random() < 0.8 else src
        enc_cases.append([s, ftfy.fix_encoding(s)])

    # HTML references: Python's html.unescape and ftfy's unescape_html.
    html_cases = []
    for _ in range(300):
        s = entity_soup()
        html_cases.append([s, html.unescape(s), fixes.unescape_html(s)])

    upper_entities = {k[1:]: v for k, v in chardata.HTML_ENTITIES.items() if k[1:] not in html.entities.html5}
    return {
        "letter_ranges": ranges_of(lambda c: bool(letter.match(c))),
        "number_ranges": ranges_of(lambda c: bool(number.match(c))),
        "other_ranges": ranges_of(lambda c: bool(other.match(c))),
        "space_ranges": ranges_of(lambda c: bool(space.match(c))),
        "python_lower": lower,
        "python_nfc": nfc,
        "python_alnum_ranges": ranges_of(str.isalnum),
        "python_decimal_ranges": ranges_of(lambda c: bool(re.match(r"\d", c))),
        "ftfy_upper_entities": upper_entities,
        "is_bad": bad_cases,
        "fix_encoding": enc_cases,
        "html_unescape": html_cases,
    }


def main():
    meta = {
        "seed": SEED,
        "python": sys.version.split()[0],
        "unicodedata": unicodedata.unidata_version,
        "open_clip": open_clip.__version__,
        "ftfy": ftfy.__version__,
        "regex": regex.__version__,
        "context_length": CONTEXT_LENGTH,
    }
    strings = build_strings()
    ids = oc_tokenizer.tokenize(strings, context_length=CONTEXT_LENGTH).to(torch.int32)
    clean = oc_tokenizer._tokenizer.clean_fn
    cases = [{"text": s, "clean": clean(s)} for s in strings]
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "clip_tokenizer_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "cases": cases}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    ids_path = os.path.join(OUT_DIR, "clip_tokenizer_ids.safetensors")
    save_fixture(ids_path, {"ids": ids}, seed=SEED, **{k: v for k, v in meta.items() if k != "seed"})
    os.chmod(ids_path, 0o644)
    tables = build_tables()
    with open(os.path.join(OUT_DIR, "clip_text_tables.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, **tables}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    n_long = int((ids[:, -1] != 0).sum())
    n_bad = sum(tables["is_bad"]["expected"])
    n_fixed = sum(1 for a, b in tables["fix_encoding"] if a != b)
    print(f"{len(cases)} strings ({n_long} truncated), is_bad {n_bad}/{len(tables['is_bad']['strings'])} true, "
          f"fix_encoding {n_fixed}/{len(tables['fix_encoding'])} changed")


if __name__ == "__main__":
    main()
