// Failed system calls as JS errors: `code` (the errno name), `errno`,
// `syscall`, `path` and, when the kernel said more, `detail`.
#include <string.h>

#include "task.h"

namespace cfskit {

Napi::Error MakeSysError(Napi::Env env, const SysError& err) {
  const char* name = strerrorname_np(err.errnum);
  std::string code = name ? name : "E" + std::to_string(err.errnum);
  std::string message = err.syscall + ": " + strerror(err.errnum);
  if (!err.detail.empty()) message += " (" + err.detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, err.errnum));
  error.Set("syscall", Napi::String::New(env, err.syscall));
  if (!err.path.empty()) error.Set("path", Napi::String::New(env, err.path));
  if (!err.detail.empty()) error.Set("detail", Napi::String::New(env, err.detail));
  return error;
}

}  // namespace cfskit
