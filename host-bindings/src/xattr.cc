// Extended attributes of a file, read the way composefs-rs reads them:
// llistxattr/lgetxattr, so a symlink's own attributes, never its target's.
// Synchronous, unlike the rest of the addon: a directory scan asks for every
// entry's attributes from its synchronous walk, and most entries have none,
// so the call is one llistxattr returning 0; a thread-pool round trip per
// entry would cost more than the system call.
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#include <string>
#include <vector>

#include "args.h"
#include "task.h"

namespace cfskit {

namespace {

// The kernel's bounds (XATTR_LIST_MAX, XATTR_SIZE_MAX): a list or value
// that grows past them between two calls is an error, not a retry loop.
constexpr size_t kListMax = 65536;
constexpr size_t kValueMax = 65536;

// Calls `get(buf, size)` until the buffer holds the whole answer: the size
// can change between asking and reading (ERANGE), so ask again.
template <typename Get>
bool ReadSized(Get get, size_t max, std::vector<char>& out, SysError& err, const char* syscall) {
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t size = get(nullptr, 0);
    if (size < 0) return err.fail(errno, syscall);
    if (static_cast<size_t>(size) > max) return err.fail(E2BIG, syscall);
    out.resize(static_cast<size_t>(size));
    if (size == 0) return true;
    ssize_t got = get(out.data(), out.size());
    if (got >= 0) {
      out.resize(static_cast<size_t>(got));
      return true;
    }
    if (errno != ERANGE) return err.fail(errno, syscall);
  }
  return err.fail(ERANGE, syscall);
}

// readXattrs(path) -> [{ name: Buffer, value: Buffer }], in the kernel's
// order; [] where the file system has no xattrs. Throws like a rejected call.
Napi::Value ReadXattrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgPath(info, 0, path)) return env.Undefined();
  SysError err;
  err.path = path;
  std::vector<char> names;
  bool ok = ReadSized([&](char* buf, size_t size) { return llistxattr(path.c_str(), buf, size); }, kListMax, names, err,
                      "llistxattr");
  auto result = Napi::Array::New(env);
  if (!ok && (err.errnum == ENOTSUP || err.errnum == EOPNOTSUPP)) return result;
  if (!ok) {
    MakeSysError(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t n = 0;
  std::vector<char> value;
  for (size_t at = 0; at < names.size();) {
    // The kernel ends every name with a NUL; the bound keeps a list that
    // does not from being read past its end.
    std::string name(names.data() + at, strnlen(names.data() + at, names.size() - at));
    at += name.size() + 1;
    if (!ReadSized([&](char* buf, size_t size) { return lgetxattr(path.c_str(), name.c_str(), buf, size); },
                   kValueMax, value, err, "lgetxattr")) {
      // Removed since it was listed: the file as it is now has no such attribute.
      if (err.errnum == ENODATA) {
        err.errnum = 0;
        continue;
      }
      err.detail = name;
      MakeSysError(env, err).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto entry = Napi::Object::New(env);
    entry.Set("name", Napi::Buffer<char>::Copy(env, name.data(), name.size()));
    entry.Set("value", Napi::Buffer<char>::Copy(env, value.data(), value.size()));
    result.Set(n++, entry);
  }
  return result;
}

}  // namespace

void InitXattr(Napi::Env env, Napi::Object exports) {
  exports.Set("readXattrs", Napi::Function::New(env, ReadXattrs, "readXattrs"));
}

}  // namespace cfskit
