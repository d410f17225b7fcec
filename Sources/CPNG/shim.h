// libpng 1.6 (Debian libpng-dev); its simplified png_image API reports errors without longjmp.
#include <png.h>
