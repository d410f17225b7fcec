// libarchive (Debian libarchive-dev): zip, tar and tar.gz readers for dataset uploads.
#include <archive.h>
#include <archive_entry.h>
