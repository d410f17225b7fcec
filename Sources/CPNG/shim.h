// libpng 1.6 (Debian libpng-dev); its simplified png_image API reports errors without longjmp. The one function
// below uses the low-level API instead, for the samples as stored (16-bit kept, no gamma, alpha not premultiplied),
// which the simplified API cannot give; libpng's longjmp stays inside this C function, never crossing Swift frames.
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

struct graft_png_source {
    const unsigned char *bytes;
    size_t size;
    size_t offset;
};

static void graft_png_read_bytes(png_structp png, png_bytep out, size_t count) {
    struct graft_png_source *source = (struct graft_png_source *)png_get_io_ptr(png);
    if (count > source->size - source->offset) png_error(png, "read beyond end of data");
    memcpy(out, source->bytes + source->offset, count);
    source->offset += count;
}

static void graft_png_error(png_structp png, png_const_charp message) {
    char *destination = (char *)png_get_error_ptr(png);
    strncpy(destination, message, 199);
    destination[199] = 0;
    png_longjmp(png, 1);
}

static void graft_png_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

/// Decodes `size` bytes of PNG into a malloc'd buffer (`*pixels`, freed by the caller with free) of interleaved
/// samples: palettes expanded to RGB (RGBA when they carry tRNS), grey below 8 bits expanded to 8, everything else
/// as stored — 1 to 4 channels of 8 or 16 bits (16-bit big-endian), no gamma applied, tRNS of grey and RGB files
/// ignored. Refuses images over `max_pixels` before allocating. Returns 1 on success, 0 with `message` (200 bytes)
/// filled in.
static int graft_png_decode_samples(const void *bytes, size_t size, size_t max_pixels, unsigned char **pixels,
                                    unsigned *width, unsigned *height, int *channels, int *bit_depth,
                                    char *message) {
    struct graft_png_source source = {(const unsigned char *)bytes, size, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, message, graft_png_error, graft_png_warning);
    if (!png) { strcpy(message, "cannot create a PNG decompressor"); return 0; }
    png_infop info = png_create_info_struct(png);
    // volatile: read after a longjmp back into this frame
    unsigned char *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); strcpy(message, "cannot create a PNG info struct"); return 0; }
    if (setjmp(png_jmpbuf(png))) {
        free(buffer);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return 0;
    }
    png_set_read_fn(png, &source, graft_png_read_bytes);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((size_t)w * (size_t)h > max_pixels) png_error(png, "image has more pixels than allowed");
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int n = png_get_channels(png, info), outDepth = png_get_bit_depth(png, info);
    size_t rowBytes = png_get_rowbytes(png, info);
    if (rowBytes != (size_t)w * (size_t)n * (size_t)(outDepth / 8)) png_error(png, "unexpected PNG row layout");
    buffer = (unsigned char *)malloc(rowBytes * h > 0 ? rowBytes * h : 1);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (h > 0 ? h : 1));
    if (!buffer || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = buffer + (size_t)y * rowBytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    *pixels = buffer;
    *width = w;
    *height = h;
    *channels = n;
    *bit_depth = outDepth;
    return 1;
}
