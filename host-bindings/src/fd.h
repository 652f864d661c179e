// Descriptors: a descriptor that closes itself, the names errors and
// /proc give one, and a file given by path or by descriptor.
#pragma once

#include <unistd.h>

#include <string>

#include "task.h"

namespace cfskit {

// Closes on scope exit, so no path leaks a descriptor.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int f = -1) {
    if (fd >= 0) close(fd);
    fd = f;
  }
};

// "fd N", as errors name a descriptor.
std::string FdName(int fd);
// /proc/self/fd/N: opening or linking it reaches the file behind the
// descriptor, even an O_TMPFILE without a name.
std::string ProcFdPath(int fd);

// A file named by path (opened and closed by the call) or by an open fd.
struct Target {
  std::string path;
  int fd = -1;
};
// The fd to use for `target`: its own, or a new one opened with `flags`.
// Returns -1 and records the error on failure.
int OpenTarget(const Target& target, int flags, SysError& err);
void CloseTarget(const Target& target, int fd);

}  // namespace cfskit
