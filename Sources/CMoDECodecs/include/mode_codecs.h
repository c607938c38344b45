// A small C layer over libjpeg-turbo, libpng and libwebp: header probing, decoding from memory
// to 8-bit RGB (converted the way PIL's `Image.convert("RGB")` converts each source mode), and
// JPEG/PNG encoding to memory. Errors are returned, never raised: libjpeg and libpng errors are
// caught with setjmp/longjmp, and no library writes to stderr.
#ifndef MODE_CODECS_H
#define MODE_CODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of the functions below.
enum {
    MC_OK = 0,
    MC_EMPTY = 1,          // zero bytes
    MC_UNKNOWN_FORMAT = 2, // not a JPEG, PNG or WebP signature
    MC_CORRUPT = 3,        // the codec rejected the data (message written)
    MC_TRUNCATED = 4,      // the data ended before the image did
    MC_UNSUPPORTED = 5,    // a valid file this layer does not decode (e.g. animated WebP)
    MC_NO_MEMORY = 6,
};

/// Container formats recognised by their signature.
enum { MC_FORMAT_NONE = 0, MC_FORMAT_JPEG = 1, MC_FORMAT_PNG = 2, MC_FORMAT_WEBP = 3 };

/// Length of the message buffers passed to the functions below.
#define MC_MESSAGE_LEN 200

/// Header facts read without decoding pixels.
typedef struct {
    int format;     // MC_FORMAT_*
    int width;
    int height;
    int components; // colour components as stored (JPEG: 1, 3 or 4; PNG: 1-4 after palette; WebP: 3 or 4)
} mc_info;

/// Reads format and size from the header of `data` (`size` bytes). Returns MC_OK or an error code.
int mc_probe(const uint8_t *data, size_t size, mc_info *info);

/// Decodes `data` into `out`, 8-bit RGB, row-major, `out_width * out_height * 3` bytes.
/// `scale_denom` (1, 2, 4 or 8) asks libjpeg for DCT-domain downscaling of JPEGs (ignored for other
/// formats, which must be passed 1); the output is then ceil(width / scale_denom) wide.
/// `out_width`/`out_height` must equal the size the decoder produces (checked; MC_CORRUPT if not).
/// Conversions follow PIL: grayscale is replicated, alpha is dropped (not composited), palettes are
/// looked up, 16-bit RGB(A) keeps the high byte, 16-bit grayscale is clipped to 255 (PIL's I;16 → RGB),
/// CMYK/YCCK JPEGs are read as Adobe-inverted CMYK and converted with PIL's formula.
/// On error a NUL-terminated message is written to `message` (MC_MESSAGE_LEN bytes).
int mc_decode_rgb(const uint8_t *data, size_t size, int scale_denom,
                  uint8_t *out, int out_width, int out_height, char *message);

/// Encodes 8-bit RGB `rgb` (height, width, 3) as a baseline JPEG (4:2:0, libjpeg's standard tables,
/// `quality` 1-100). On success `*out` holds a malloc'd buffer of `*out_size` bytes (free with mc_free).
int mc_encode_jpeg(const uint8_t *rgb, int width, int height, int quality,
                   uint8_t **out, size_t *out_size, char *message);

/// Encodes 8-bit pixels `pixels` (height, width, channels), channels 1 (gray), 2 (gray+alpha),
/// 3 (RGB) or 4 (RGBA), as a non-interlaced PNG. Output as for mc_encode_jpeg.
int mc_encode_png(const uint8_t *pixels, int width, int height, int channels,
                  uint8_t **out, size_t *out_size, char *message);

/// Frees a buffer returned by an encoder.
void mc_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
