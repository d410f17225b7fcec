// oneDNN's C API (Debian libdnnl-dev 2.6; no pkg-config file, so the library is linked by name),
// plus the OpenMP calls Graft's threading policy needs (libgomp, which libdnnl itself runs on), and glibc's
// malloc_trim (malloc.h is not in Swift's Glibc module) to hand freed activation buffers back to the system.
#include <dnnl.h>
#include <malloc.h>
#include <dnnl_debug.h>

void omp_set_num_threads(int);
int omp_get_max_threads(void);
