#include "args.h"

#include <cmath>
#include <string>

namespace cfskit {

namespace {

bool Throw(const Napi::CallbackInfo& info, bool range, size_t i, const std::string& problem) {
  std::string message = "argument " + std::to_string(i) + " " + problem;
  if (range) {
    Napi::RangeError::New(info.Env(), message).ThrowAsJavaScriptException();
  } else {
    Napi::TypeError::New(info.Env(), message).ThrowAsJavaScriptException();
  }
  return false;
}

}  // namespace

bool ArgWhole(const Napi::CallbackInfo& info, size_t i, int64_t min, int64_t max, int64_t& out) {
  if (info.Length() <= i || !info[i].IsNumber()) return Throw(info, false, i, "must be a number");
  double value = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(value) || std::trunc(value) != value || value < static_cast<double>(min) ||
      value > static_cast<double>(max)) {
    return Throw(info, true, i,
                 "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  out = static_cast<int64_t>(value);
  return true;
}

bool ArgFd(const Napi::CallbackInfo& info, size_t i, int& out) {
  if (info.Length() <= i || !info[i].IsNumber()) return Throw(info, false, i, "must be a file descriptor (a number)");
  int64_t fd = 0;
  if (!ArgWhole(info, i, 0, INT32_MAX, fd)) return false;
  out = static_cast<int>(fd);
  return true;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, bool& out) {
  if (info.Length() <= i || !info[i].IsBoolean()) return Throw(info, false, i, "must be a boolean");
  out = info[i].As<Napi::Boolean>().Value();
  return true;
}

bool ArgPath(const Napi::CallbackInfo& info, size_t i, std::string& out) {
  if (info.Length() > i && info[i].IsBuffer()) {
    auto buf = info[i].As<Napi::Buffer<char>>();
    out.assign(buf.Data(), buf.Length());
  } else if (info.Length() > i && info[i].IsString()) {
    out = info[i].As<Napi::String>().Utf8Value();
  } else {
    return Throw(info, false, i, "must be a path (string or Buffer)");
  }
  if (out.find('\0') != std::string::npos) return Throw(info, false, i, "contains a NUL byte");
  return true;
}

bool ArgString(const Napi::CallbackInfo& info, size_t i, std::string& out) { return ArgPath(info, i, out); }

bool ArgTarget(const Napi::CallbackInfo& info, size_t i, Target& out) {
  if (info.Length() > i && info[i].IsNumber()) {
    if (!ArgFd(info, i, out.fd)) return false;
    out.path = FdName(out.fd);
    return true;
  }
  return ArgPath(info, i, out.path);
}

}  // namespace cfskit
