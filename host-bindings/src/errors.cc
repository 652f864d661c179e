#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

bool ArgPath(const Napi::CallbackInfo& info, size_t i, std::string& out) {
  if (info.Length() > i && info[i].IsBuffer()) {
    auto buf = info[i].As<Napi::Buffer<char>>();
    out.assign(buf.Data(), buf.Length());
  } else if (info.Length() > i && info[i].IsString()) {
    out = info[i].As<Napi::String>().Utf8Value();
  } else {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a path (string or Buffer)")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (out.find('\0') != std::string::npos) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " contains a NUL byte")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool ArgInt(const Napi::CallbackInfo& info, size_t i, int64_t& out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number")
        .ThrowAsJavaScriptException();
    return false;
  }
  out = info[i].As<Napi::Number>().Int64Value();
  return true;
}

bool ArgTarget(const Napi::CallbackInfo& info, size_t i, Target& out) {
  if (info.Length() > i && info[i].IsNumber()) {
    int64_t fd = info[i].As<Napi::Number>().Int64Value();
    if (fd < 0 || fd > INT32_MAX) {
      Napi::RangeError::New(info.Env(), "file descriptor out of range").ThrowAsJavaScriptException();
      return false;
    }
    out.fd = static_cast<int>(fd);
    out.path = "fd " + std::to_string(fd);
    return true;
  }
  return ArgPath(info, i, out.path);
}

int OpenTarget(const Target& target, int flags, SysError& err) {
  if (target.fd >= 0) return target.fd;
  int fd = open(target.path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) err.fail(errno, "open");
  return fd;
}

void CloseTarget(const Target& target, int fd) {
  if (target.fd < 0 && fd >= 0) close(fd);
}

}  // namespace cfskit
