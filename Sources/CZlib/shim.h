#include <zlib.h>

/* deflateInit2 is a macro, which Swift cannot call: a gzip (windowBits 15 + 16) wrapper. */
static inline int czlib_deflate_init_gzip(z_stream *s, int level) {
    return deflateInit2(s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
