"""Writes small images and what PIL + open_clip make of them, for the Swift image tests.

Outputs (Tests/MoDEDataTests/Fixtures/):
  images/*.jpg, *.png, *.webp  - JPEG baseline/progressive/grayscale/CMYK, PNG RGB/RGBA/LA/L/1-bit/
                          palette with transparency/16-bit gray/16-bit RGB/interlaced/tall, WebP lossy and
                          lossless, plus resize_src.png
  image_expected.safetensors - per image: the eval transform at S = 32 (and 64 for a few) and the train
                          transform at S = 24 for fixed boxes; metadata: seed, library versions, and
                          "records" (JSON): per image its PIL mode, size, FNV-1a 64 hash of
                          Image.open(f).convert("RGB") bytes, resized sizes, boxes and tensor names
  image_resize.safetensors   - PIL's Image.resize of resize_src.png to a few sizes (uint8 HWC),
                          bicubic and bilinear; metadata "records" lists them

Transformed images are stored as the uint8 pixels (3, S, S) that reach ToTensor, plus torch's
normalisation table (3, 256) float32 = (v / 255 - mean) / std; the script asserts that
table[pixels] equals open_clip's output tensor exactly, so the pair is a lossless, compact copy of it.
Also stored: PIL's Image.resize of resize_src.png to a few sizes (uint8 HWC), bicubic and bilinear.
Deterministic: seed 0. Run: ~/.cache/mode-peers/bin/python tools/image_fixtures.py
"""
import io, json, os, struct, sys, zlib

import numpy as np
import PIL
import torch
import torchvision
import open_clip
from PIL import Image, features
from open_clip.transform import image_transform
from torchvision.transforms import RandomResizedCrop

from fixturelib import REPO_ROOT, save_fixture

SEED = 0
fixtures = os.path.join(REPO_ROOT, "Tests", "MoDEDataTests", "Fixtures")
out = os.path.join(fixtures, "images")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(SEED)
torch.manual_seed(SEED)


def content(w, h, channels=3):
    """Smooth colour fields with some edges and a little noise, uint8 (h, w, channels)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        f = rng.uniform(0.05, 0.4, size=2)
        p = rng.uniform(0, 6.3, size=2)
        v = 128 + 90 * np.sin(x * f[0] + p[0]) * np.cos(y * f[1] + p[1])
        v += np.where((x // 9 + y // 7 + c) % 5 == 0, 60, 0)  # hard edges
        v += rng.normal(0, 3, size=(h, w))
        planes.append(v)
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def raw_png(pixels, bit_depth, color_type, interlace=False):
    """A PNG written by hand (PIL cannot write 16-bit RGB or interlaced PNGs). pixels: (h, w, c) array."""
    h, w = pixels.shape[:2]
    dt = ">u2" if bit_depth == 16 else "u1"
    def scanlines(img):
        return b"".join(b"\x00" + img[r].astype(dt).tobytes() for r in range(img.shape[0]))
    if not interlace:
        data = scanlines(pixels)
    else:  # Adam7 passes: (x0, y0, dx, dy)
        data = b""
        for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
            sub = pixels[y0::dy, x0::dx]
            if sub.size:
                data += scanlines(sub)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(data, 9)) + png_chunk(b"IEND", b"")


def save(img, name, **kw):
    buf = io.BytesIO()
    img.save(buf, **kw)
    return name, buf.getvalue()


images = []
rgb = Image.fromarray(content(300, 200))
images.append(save(rgb, "rgb_300x200.jpg", format="JPEG", quality=85))
images.append(save(Image.fromarray(content(37, 61)), "progressive_37x61.jpg", format="JPEG", quality=90, progressive=True))
images.append(save(Image.fromarray(content(50, 40, 1)[..., 0]), "gray_50x40.jpg", format="JPEG", quality=90))
images.append(save(Image.fromarray(content(41, 30, 4), "CMYK"), "cmyk_41x30.jpg", format="JPEG", quality=90))
images.append(save(Image.fromarray(content(37, 61)), "rgb_37x61.png", format="PNG"))
rgba = content(45, 33, 4)
rgba[:10, :, 3] = 0  # transparent rows whose colour must survive (alpha is dropped, not composited)
images.append(save(Image.fromarray(rgba, "RGBA"), "rgba_45x33.png", format="PNG"))
images.append(save(Image.fromarray(content(33, 45, 2), "LA"), "la_33x45.png", format="PNG"))
images.append(save(Image.fromarray(content(33, 45, 1)[..., 0]), "gray_33x45.png", format="PNG"))
images.append(save(Image.fromarray(content(30, 22, 1)[..., 0] > 128), "bilevel_30x22.png", format="PNG"))
pal = Image.fromarray(content(40, 40)).quantize(colors=37, dither=Image.Dither.NONE)
pal.info["transparency"] = 3
images.append(save(pal, "palette_40x40.png", format="PNG", transparency=3))
g16 = (rng.uniform(0, 1, size=(31, 29)) ** 3 * 1200).astype(np.uint16)  # mostly small, some > 255 (PIL clips)
images.append(save(Image.fromarray(g16), "gray16_29x31.png", format="PNG"))
images.append(("rgb16_23x19.png", raw_png(content(23, 19).astype(np.uint16) * 257 + rng.integers(0, 256, size=(19, 23, 3)).astype(np.uint16), 16, 2)))
images.append(("interlaced_35x27.png", raw_png(content(35, 27), 8, 2, interlace=True)))
images.append(save(Image.fromarray(content(40, 130)), "tall_40x130.png", format="PNG"))  # PIL resizes it vertically first
images.append(save(Image.fromarray(content(48, 36)), "lossy_48x36.webp", format="WEBP", quality=80))
images.append(save(Image.fromarray(content(30, 20, 4), "RGBA"), "lossless_alpha_30x20.webp", format="WEBP", lossless=True))

# The eval transform at S = 64 is stored for these (all get S = 32), to keep the fixtures small.
LARGE = {"rgb_300x200.jpg", "progressive_37x61.jpg", "cmyk_41x30.jpg", "rgba_45x33.png"}
TRAIN_SIZE = 24
tensors = {"expected": {}, "resize": {}}


def put(arr, name, file="expected"):
    """Stores `arr` under `name` in one of the two fixture files; returns the name."""
    tensors[file][name] = np.ascontiguousarray(arr)
    return name


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for c in b:
        h = ((h ^ c) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


mean = torch.tensor(open_clip.OPENAI_DATASET_MEAN)
std = torch.tensor(open_clip.OPENAI_DATASET_STD)
table = ((torch.arange(256, dtype=torch.float32).div(255))[None, :] - mean[:, None]) / std[:, None]
put(table.numpy().astype(np.float32), "normalization_table")


def pixels_and_check(tf, img):
    """The uint8 (3, S, S) image that reaches ToTensor, checked against the transform's output."""
    pre = img
    for t in tf.transforms[:-2]:  # all but MaybeToTensor, Normalize
        pre = t(pre)
    u8 = np.array(pre, dtype=np.uint8).transpose(2, 0, 1)
    full = tf(img).numpy()
    recon = table.numpy()[np.arange(3)[:, None, None], u8]
    assert np.array_equal(full, recon), "table[pixels] must equal the transform's output"
    return u8


records = []
for name, data in images:
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    im = Image.open(io.BytesIO(data))
    mode = im.mode
    rgbim = im.convert("RGB")  # what webdataset's "pilrgb" decoder hands open_clip
    rec = {"file": name, "pil_mode": mode, "width": im.width, "height": im.height,
           "decoded_fnv1a64": fnv1a64(rgbim.tobytes()), "eval": []}
    for s in (32, 64) if name in LARGE else (32,):
        tf = image_transform(s, is_train=False)
        resized = tf.transforms[0](rgbim)
        rec["eval"].append({"size": s, "resized": list(resized.size),
                            "pixels": put(pixels_and_check(tf, rgbim), f"eval/{name}/{s}")})
    boxes = [RandomResizedCrop.get_params(rgbim, scale=[0.9, 1.0], ratio=[3 / 4, 4 / 3])]
    if name == "rgb_300x200.jpg":
        boxes.append((50, 100, 120, 40))  # a tall box (i, j, h, w): PIL resamples it vertically first
    rec["train"] = []
    for n, (i, j, h, w) in enumerate(boxes):
        tf = image_transform(TRAIN_SIZE, is_train=True)
        tf.transforms[0].get_params = lambda *a, **k: (i, j, h, w)
        rec["train"].append({"size": TRAIN_SIZE, "box": {"left": j, "top": i, "width": w, "height": h},
                             "pixels": put(pixels_and_check(tf, rgbim), f"train/{name}/{n}")})
    records.append(rec)

src = content(53, 41)
images_resize = []
with open(os.path.join(out, "resize_src.png"), "wb") as f:
    f.write(save(Image.fromarray(src), "resize_src.png", format="PNG")[1])
sizes = {"bicubic": ((17, 29), (64, 40), (53, 20), (10, 41), (1, 1), (71, 45), (120, 3)),
         "bilinear": ((17, 29), (71, 45), (10, 41))}
for filt, code in (("bicubic", Image.BICUBIC), ("bilinear", Image.BILINEAR)):
    for (w, h) in sizes[filt]:
        r = Image.fromarray(src).resize((w, h), code)
        images_resize.append({"filter": filt, "width": w, "height": h,
                              "pixels": put(np.array(r), f"resize/{filt}/{w}x{h}", "resize")})

versions = {"pillow": PIL.__version__, "torchvision": torchvision.__version__, "open_clip": open_clip.__version__,
            "libjpeg_turbo": features.version("libjpeg_turbo"), "libwebp": features.version("webp"),
            "zlib": features.version("zlib")}
save_fixture(os.path.join(fixtures, "image_expected.safetensors"), tensors["expected"], seed=SEED,
             records=json.dumps(records), **versions)
save_fixture(os.path.join(fixtures, "image_resize.safetensors"), tensors["resize"], seed=SEED,
             records=json.dumps({"source": "resize_src.png", "resize": images_resize}), **versions)
total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
total += sum(os.path.getsize(os.path.join(fixtures, f"image_{k}.safetensors")) for k in tensors)
print(f"wrote {out} and the image_*.safetensors beside it: {total} bytes in all", file=sys.stderr)
