#ifndef MODE_ZLIB_SHIM_H
#define MODE_ZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 (a macro, which Swift cannot call) for gzip streams: a 32 KiB window and the
/// gzip wrapper (header, CRC-32 and length checked).
static inline int mode_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 16 + MAX_WBITS);
}

/// inflateInit2 for raw deflate data (no wrapper, as in zip entries): a 32 KiB window.
static inline int mode_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -MAX_WBITS);
}

#endif
