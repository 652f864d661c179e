// flock: advisory whole-file locks, as containers-storage and composefs
// repositories use them to coordinate readers and writers.
#include <errno.h>
#include <sys/file.h>

#include <string>

#include "args.h"
#include "task.h"

namespace cfskit {

namespace {

// flock(fd, "shared" | "exclusive" | "unlock", wait). Without `wait` a held
// lock rejects at once (EWOULDBLOCK). With it the call occupies one libuv
// pool thread until the lock is granted, and keeps the process alive.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  int fd = -1;
  bool wait = false;
  if (!ArgFd(info, 0, fd)) return info.Env().Undefined();
  std::string mode = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  int operation = mode == "shared" ? LOCK_SH : mode == "exclusive" ? LOCK_EX : mode == "unlock" ? LOCK_UN : -1;
  if (operation < 0) {
    Napi::TypeError::New(info.Env(), "argument 1 must be \"shared\", \"exclusive\" or \"unlock\"")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  if (!ArgBool(info, 2, wait)) return info.Env().Undefined();
  if (!wait) operation |= LOCK_NB;
  return Task<bool>::Start(
      info.Env(), "fd " + std::to_string(fd),
      [fd, operation](bool&, SysError& err) {
        int rc;
        do {
          rc = flock(fd, operation);
        } while (rc != 0 && errno == EINTR);
        if (rc != 0) err.fail(errno, "flock");
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

}  // namespace

void InitLock(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
}

}  // namespace cfskit
