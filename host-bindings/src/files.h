// Moving file data, shared by files.cc's functions and the object store.
#pragma once

#include <stdint.h>

#include "task.h"

namespace cfskit {

// [0, length) of src to dst at offset 0 (copy_file_range, else
// pread/pwrite); bytes copied, or -1 with `err` set.
int64_t CopyRange(int src, int dst, int64_t length, SysError& err);

}  // namespace cfskit
