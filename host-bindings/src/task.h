// Asynchronous system calls: each call runs on libuv's thread pool through a
// Napi::AsyncWorker and settles a promise, so the event loop never waits on
// the kernel. A failed call rejects with an Error carrying `code` (errno
// name), `errno`, `syscall` and `path`.
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <utility>

namespace cfskit {

struct SysError {
  int errnum = 0;
  std::string syscall;
  std::string path;
  // What the kernel said beyond errno (e.g. a file system context's log).
  std::string detail;

  bool failed() const { return errnum != 0; }
  // Records errno for `call`; returns false so callers can `return fail(...)`.
  bool fail(int err, std::string call) {
    errnum = err;
    syscall = std::move(call);
    return false;
  }
};

Napi::Error MakeSysError(Napi::Env env, const SysError& err);

// Runs `work` off the main thread; `convert` builds the result on it.
template <typename Result>
class Task : public Napi::AsyncWorker {
 public:
  using Work = std::function<void(Result&, SysError&)>;
  using Convert = std::function<Napi::Value(Napi::Env, Result&)>;

  static Napi::Promise Start(Napi::Env env, std::string path, Work work, Convert convert) {
    auto* task = new Task(env, std::move(path), std::move(work), std::move(convert));
    auto promise = task->deferred_.Promise();
    task->Queue();
    return promise;
  }

 protected:
  void Execute() override { work_(result_, error_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (error_.failed()) {
      deferred_.Reject(MakeSysError(env, error_).Value());
    } else {
      deferred_.Resolve(convert_(env, result_));
    }
  }

 private:
  Task(Napi::Env env, std::string path, Work work, Convert convert)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        convert_(std::move(convert)) {
    error_.path = std::move(path);
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Convert convert_;
  Result result_{};
  SysError error_;
};

}  // namespace cfskit
