// oneDNN's C API (Debian libdnnl-dev 2.6; no pkg-config file, so the library is linked by name).
#include <dnnl.h>
