// Argument checks for calls that take descriptors, sizes and flags. Each
// throws a JS exception and returns false on a bad argument: TypeError for
// the wrong kind of value, RangeError for a number outside what the kernel
// accepts, so a hostile argument never reaches a system call.
#pragma once

#include <stdint.h>

#include "task.h"

namespace cfskit {

// A descriptor number: a whole number in [0, INT32_MAX].
bool ArgFd(const Napi::CallbackInfo& info, size_t i, int& out);
// The largest whole number a JS number holds exactly (2^53 - 1).
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

// A whole number in [min, max]; max must not exceed kMaxSafeInteger.
bool ArgWhole(const Napi::CallbackInfo& info, size_t i, int64_t min, int64_t max, int64_t& out);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, bool& out);
// A path or a descriptor; unlike ArgTarget it rejects fractional numbers.
bool ArgPathOrFd(const Napi::CallbackInfo& info, size_t i, Target& out);

// From files.cc: [0, length) of src to dst at offset 0 (copy_file_range,
// else pread/pwrite); bytes copied, or -1 with `err` set.
int64_t CopyRange(int src, int dst, int64_t length, SysError& err);

}  // namespace cfskit
