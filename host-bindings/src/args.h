// Every argument check of the addon's functions, strict in one way: each
// throws a JS exception and returns false on a bad argument, a TypeError
// for the wrong kind of value, a RangeError for a number outside what the
// kernel accepts, so a hostile argument never reaches a system call.
#pragma once

#include <napi.h>
#include <stdint.h>

#include <string>

#include "fd.h"

namespace cfskit {

// The largest whole number a JS number holds exactly (2^53 - 1).
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

// A whole number in [min, max]; max must not exceed kMaxSafeInteger.
bool ArgWhole(const Napi::CallbackInfo& info, size_t i, int64_t min, int64_t max, int64_t& out);
// A descriptor number: a whole number in [0, INT32_MAX].
bool ArgFd(const Napi::CallbackInfo& info, size_t i, int& out);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, bool& out);
// A path as a string or Buffer (file names need not be UTF-8); no NUL inside.
bool ArgPath(const Napi::CallbackInfo& info, size_t i, std::string& out);
// Any string that becomes a C string (file system types, keys, values).
bool ArgString(const Napi::CallbackInfo& info, size_t i, std::string& out);
// A path, or a descriptor checked like ArgFd.
bool ArgTarget(const Napi::CallbackInfo& info, size_t i, Target& out);

}  // namespace cfskit
