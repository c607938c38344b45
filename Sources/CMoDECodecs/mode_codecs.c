// See include/mode_codecs.h. Every codec error is caught here (setjmp/longjmp for libjpeg and
// libpng) and turned into a result code plus a message; nothing is printed.
#include "mode_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <webp/decode.h>

static void set_message(char *message, const char *text) {
    if (message) snprintf(message, MC_MESSAGE_LEN, "%s", text);
}

void mc_free(void *p) { free(p); }

// MARK: - Probing

static int sniff(const uint8_t *d, size_t n) {
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return MC_FORMAT_JPEG;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n >= 8 && memcmp(d, png_sig, 8) == 0) return MC_FORMAT_PNG;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return MC_FORMAT_WEBP;
    return MC_FORMAT_NONE;
}

// Walks the JPEG marker segments up to the first start-of-frame and reads its size.
static int probe_jpeg(const uint8_t *d, size_t n, mc_info *info) {
    size_t i = 2;
    for (;;) {
        while (i < n && d[i] != 0xFF) i++; // stray bytes between segments (libjpeg skips them too)
        while (i < n && d[i] == 0xFF) i++; // fill bytes
        if (i >= n) return MC_TRUNCATED;
        uint8_t m = d[i++];
        if (m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue; // markers without a length
        if (m == 0xD9 || m == 0xDA) return MC_CORRUPT;                      // EOI or SOS before a frame
        if (i + 2 > n) return MC_TRUNCATED;
        size_t len = ((size_t)d[i] << 8) | d[i + 1];
        if (len < 2) return MC_CORRUPT;
        int sof = (m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC;
        if (sof) {
            if (i + 8 > n) return MC_TRUNCATED;
            info->height = (d[i + 3] << 8) | d[i + 4];
            info->width = (d[i + 5] << 8) | d[i + 6];
            info->components = d[i + 7];
            return (info->width > 0 && info->height > 0) ? MC_OK : MC_CORRUPT;
        }
        i += len;
    }
}

static int probe_png(const uint8_t *d, size_t n, mc_info *info) {
    if (n < 33) return MC_TRUNCATED;
    if (memcmp(d + 12, "IHDR", 4) != 0) return MC_CORRUPT;
    uint32_t w = ((uint32_t)d[16] << 24) | ((uint32_t)d[17] << 16) | ((uint32_t)d[18] << 8) | d[19];
    uint32_t h = ((uint32_t)d[20] << 24) | ((uint32_t)d[21] << 16) | ((uint32_t)d[22] << 8) | d[23];
    if (w == 0 || h == 0 || w > 0x7FFFFFFF || h > 0x7FFFFFFF) return MC_CORRUPT;
    info->width = (int)w;
    info->height = (int)h;
    int ctype = d[25];
    info->components = ctype == 0 ? 1 : ctype == 2 ? 3 : ctype == 3 ? 3 : ctype == 4 ? 2 : ctype == 6 ? 4 : 0;
    return info->components ? MC_OK : MC_CORRUPT;
}

static int probe_webp(const uint8_t *d, size_t n, mc_info *info) {
    WebPBitstreamFeatures f;
    VP8StatusCode s = WebPGetFeatures(d, n, &f);
    if (s == VP8_STATUS_NOT_ENOUGH_DATA) return MC_TRUNCATED;
    if (s != VP8_STATUS_OK) return MC_CORRUPT;
    info->width = f.width;
    info->height = f.height;
    info->components = f.has_alpha ? 4 : 3;
    return MC_OK;
}

int mc_probe(const uint8_t *data, size_t size, mc_info *info) {
    memset(info, 0, sizeof *info);
    if (size == 0) return MC_EMPTY;
    info->format = sniff(data, size);
    switch (info->format) {
        case MC_FORMAT_JPEG: return probe_jpeg(data, size, info);
        case MC_FORMAT_PNG: return probe_png(data, size, info);
        case MC_FORMAT_WEBP: return probe_webp(data, size, info);
        default: return MC_UNKNOWN_FORMAT;
    }
}

// MARK: - JPEG

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int truncated;
    char *message;
} jpeg_error;

static void jpeg_on_error(j_common_ptr c) {
    jpeg_error *e = (jpeg_error *)c->err;
    char text[JMSG_LENGTH_MAX];
    c->err->format_message(c, text);
    set_message(e->message, text);
    longjmp(e->jump, 1);
}

// Warnings are counted, not printed; running out of data is remembered (PIL treats it as an error).
static void jpeg_on_message(j_common_ptr c, int level) {
    if (level >= 0) return;
    jpeg_error *e = (jpeg_error *)c->err;
    c->err->num_warnings++;
    if (c->err->msg_code == JWRN_JPEG_EOF) e->truncated = 1;
}

static void jpeg_quiet(j_common_ptr c) { (void)c; }

static void jpeg_init_error(jpeg_error *e, char *message) {
    jpeg_std_error(&e->pub);
    e->pub.error_exit = jpeg_on_error;
    e->pub.emit_message = jpeg_on_message;
    e->pub.output_message = jpeg_quiet;
    e->truncated = 0;
    e->message = message;
}

// PIL reads 4-component JPEGs as Adobe-inverted CMYK ("CMYK;I") and converts with
// R = (255 - K) - round(C * (255 - K) / 255) on the un-inverted values.
static void cmyk_inverted_to_rgb(uint8_t *out, const uint8_t *in, int width) {
    for (int x = 0; x < width; x++, in += 4, out += 3) {
        int nk = in[3]; // 255 - K, where K = 255 - stored
        for (int c = 0; c < 3; c++) {
            int v = 255 - in[c];
            int t = v * nk + 128;
            int r = nk - (((t >> 8) + t) >> 8);
            out[c] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
        }
    }
}

// Expands `count` 8-bit gray pixels at the start of `p` to RGB in place (from the end backwards).
static void gray_to_rgb_in_place(uint8_t *p, size_t count) {
    for (size_t i = count; i-- > 0;) {
        uint8_t v = p[i];
        p[3 * i] = v;
        p[3 * i + 1] = v;
        p[3 * i + 2] = v;
    }
}

static int decode_jpeg(const uint8_t *data, size_t size, int scale_denom, uint8_t *out, int ow, int oh,
                       char *message) {
    struct jpeg_decompress_struct cinfo;
    jpeg_error err;
    uint8_t *volatile scratch = NULL;
    cinfo.err = &err.pub;
    jpeg_init_error(&err, message);
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(scratch);
        return err.truncated ? MC_TRUNCATED : MC_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    int components = cinfo.num_components;
    if (components == 1) {
        cinfo.out_color_space = JCS_GRAYSCALE;
    } else if (components == 3) {
        cinfo.out_color_space = JCS_RGB;
    } else if (components == 4) {
        cinfo.out_color_space = JCS_CMYK; // libjpeg turns YCCK into CMYK
    } else {
        set_message(message, "unsupported number of JPEG components");
        jpeg_destroy_decompress(&cinfo);
        return MC_UNSUPPORTED;
    }
    if (scale_denom > 1) {
        cinfo.scale_num = 1;
        cinfo.scale_denom = (unsigned)scale_denom;
    }
    jpeg_start_decompress(&cinfo);
    if ((int)cinfo.output_width != ow || (int)cinfo.output_height != oh) {
        set_message(message, "decoded size differs from the header");
        jpeg_destroy_decompress(&cinfo);
        return MC_CORRUPT;
    }
    size_t stride = (size_t)ow * 3;
    if (components == 4) {
        scratch = malloc((size_t)ow * 4);
        if (!scratch) {
            jpeg_destroy_decompress(&cinfo);
            return MC_NO_MEMORY;
        }
    }
    while (cinfo.output_scanline < cinfo.output_height && !err.truncated) {
        int y = (int)cinfo.output_scanline;
        JSAMPROW rows[16];
        int want = oh - y < 16 ? oh - y : 16;
        if (components == 4) {
            rows[0] = scratch;
            want = 1;
        } else {
            for (int k = 0; k < want; k++) rows[k] = out + (size_t)(y + k) * stride;
        }
        int got = (int)jpeg_read_scanlines(&cinfo, rows, (JDIMENSION)want);
        if (got <= 0) break;
        if (components == 4) cmyk_inverted_to_rgb(out + (size_t)y * stride, scratch, ow);
        if (components == 1)
            for (int k = 0; k < got; k++) gray_to_rgb_in_place(rows[k], (size_t)ow);
    }
    int status = err.truncated ? MC_TRUNCATED : cinfo.output_scanline < cinfo.output_height ? MC_CORRUPT : MC_OK;
    if (status == MC_TRUNCATED) set_message(message, "image data ends early");
    if (status == MC_CORRUPT) set_message(message, "decoder stopped early");
    // Not jpeg_finish_decompress: the rows are complete, and PIL does not insist on the EOI marker.
    jpeg_destroy_decompress(&cinfo);
    free(scratch);
    return status;
}

// MARK: - PNG

typedef struct {
    const uint8_t *data;
    size_t size, pos;
    int truncated;
    char *message;
} png_source;

static void png_on_error(png_structp png, png_const_charp text) {
    png_source *s = (png_source *)png_get_error_ptr(png);
    set_message(s->message, text);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_read_memory(png_structp png, png_bytep dst, size_t n) {
    png_source *s = (png_source *)png_get_io_ptr(png);
    if (n > s->size - s->pos) {
        s->truncated = 1;
        png_error(png, "image data ends early");
    }
    memcpy(dst, s->data + s->pos, n);
    s->pos += n;
}

static int decode_png(const uint8_t *data, size_t size, uint8_t *out, int ow, int oh, char *message) {
    png_source src = {data, size, 0, 0, message};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    if (!png) return MC_NO_MEMORY;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return MC_NO_MEMORY;
    }
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        return src.truncated ? MC_TRUNCATED : MC_CORRUPT;
    }
    png_set_read_fn(png, &src, png_read_memory);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if ((int)w != ow || (int)h != oh) png_error(png, "decoded size differs from the header");
    // PIL opens 16-bit grayscale as I;16 and clips it to 255 when converting to RGB; every other
    // 16-bit mode keeps the high byte.
    int gray16 = ctype == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (!gray16) {
        if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
        if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        if (depth == 16) png_set_strip_16(png);
        // Alpha (and a palette's tRNS, which palette expansion turns into alpha) is dropped.
        if ((ctype & PNG_COLOR_MASK_ALPHA) || ctype == PNG_COLOR_TYPE_PALETTE) png_set_strip_alpha(png);
        if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    }
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t stride = gray16 ? (size_t)w * 2 : (size_t)w * 3;
    if (png_get_rowbytes(png, info) != stride) png_error(png, "unexpected PNG row layout");
    rows = malloc((size_t)h * sizeof(png_bytep));
    if (!rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = out + (size_t)y * stride;
    png_read_image(png, rows);
    if (gray16) {
        // Rows were read packed at 2 bytes a pixel; expand to RGB in place from the end.
        size_t count = (size_t)w * h;
        for (size_t i = count; i-- > 0;) {
            uint8_t v = out[2 * i] ? 255 : out[2 * i + 1];
            out[3 * i] = v;
            out[3 * i + 1] = v;
            out[3 * i + 2] = v;
        }
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return MC_OK;
}

// MARK: - WebP

static int decode_webp(const uint8_t *data, size_t size, uint8_t *out, int ow, int oh, char *message) {
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) return MC_UNSUPPORTED;
    VP8StatusCode s = WebPGetFeatures(data, size, &config.input);
    if (s == VP8_STATUS_OK && config.input.has_animation) {
        set_message(message, "animated WebP is not supported");
        return MC_UNSUPPORTED;
    }
    if (s == VP8_STATUS_OK && (config.input.width != ow || config.input.height != oh)) {
        set_message(message, "decoded size differs from the header");
        return MC_CORRUPT;
    }
    if (s == VP8_STATUS_OK) {
        config.output.colorspace = MODE_RGB; // alpha, if any, is dropped
        config.output.is_external_memory = 1;
        config.output.u.RGBA.rgba = out;
        config.output.u.RGBA.stride = ow * 3;
        config.output.u.RGBA.size = (size_t)ow * oh * 3;
        s = WebPDecode(data, size, &config);
        WebPFreeDecBuffer(&config.output);
    }
    if (s == VP8_STATUS_OK) return MC_OK;
    set_message(message, s == VP8_STATUS_NOT_ENOUGH_DATA ? "image data ends early" : "invalid WebP data");
    return s == VP8_STATUS_NOT_ENOUGH_DATA ? MC_TRUNCATED : MC_CORRUPT;
}

int mc_decode_rgb(const uint8_t *data, size_t size, int scale_denom, uint8_t *out, int out_width,
                  int out_height, char *message) {
    set_message(message, "");
    if (size == 0) return MC_EMPTY;
    int format = sniff(data, size);
    if (format != MC_FORMAT_JPEG && scale_denom != 1) {
        set_message(message, "scaled decoding is only available for JPEG");
        return MC_UNSUPPORTED;
    }
    switch (format) {
        case MC_FORMAT_JPEG: return decode_jpeg(data, size, scale_denom, out, out_width, out_height, message);
        case MC_FORMAT_PNG: return decode_png(data, size, out, out_width, out_height, message);
        case MC_FORMAT_WEBP: return decode_webp(data, size, out, out_width, out_height, message);
        default: set_message(message, "not a JPEG, PNG or WebP image"); return MC_UNKNOWN_FORMAT;
    }
}

// MARK: - Encoders

int mc_encode_jpeg(const uint8_t *rgb, int width, int height, int quality, uint8_t **out, size_t *out_size,
                   char *message) {
    struct jpeg_compress_struct cinfo;
    jpeg_error err;
    unsigned char *buffer = NULL; // owned by libjpeg's memory destination until finished
    unsigned long length = 0;
    *out = NULL;
    *out_size = 0;
    cinfo.err = &err.pub;
    jpeg_init_error(&err, message);
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return MC_CORRUPT;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &length);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = buffer;
    *out_size = length;
    return MC_OK;
}

typedef struct {
    uint8_t *data;
    size_t size, capacity;
    char *message;
} png_sink;

static void png_write_memory(png_structp png, png_bytep src, size_t n) {
    png_sink *s = (png_sink *)png_get_io_ptr(png);
    if (s->size + n > s->capacity) {
        size_t cap = s->capacity ? s->capacity : 4096;
        while (cap < s->size + n) cap *= 2;
        uint8_t *grown = realloc(s->data, cap);
        if (!grown) png_error(png, "out of memory");
        s->data = grown;
        s->capacity = cap;
    }
    memcpy(s->data + s->size, src, n);
    s->size += n;
}

static void png_flush_memory(png_structp png) { (void)png; }

static void png_sink_on_error(png_structp png, png_const_charp text) {
    png_sink *s = (png_sink *)png_get_error_ptr(png);
    set_message(s->message, text);
    png_longjmp(png, 1);
}

int mc_encode_png(const uint8_t *pixels, int width, int height, int channels, uint8_t **out, size_t *out_size,
                  char *message) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    *out = NULL;
    *out_size = 0;
    if (channels < 1 || channels > 4) {
        set_message(message, "channels must be 1 to 4");
        return MC_UNSUPPORTED;
    }
    png_sink sink = {NULL, 0, 0, message};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, png_sink_on_error, png_on_warning);
    if (!png) return MC_NO_MEMORY;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return MC_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(sink.data);
        return MC_CORRUPT;
    }
    png_set_write_fn(png, &sink, png_write_memory, png_flush_memory);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = sink.data;
    *out_size = sink.size;
    return MC_OK;
}
