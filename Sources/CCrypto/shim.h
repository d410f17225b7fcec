// OpenSSL's libcrypto (Debian libssl-dev), for SHA-256 only: its block function uses the CPU's SHA extensions
// (or AVX2) where they exist. The one-shot SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP, whose
// context lives on the heap; the plain struct context keeps Graft's hasher a value type, so silence the warning.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
