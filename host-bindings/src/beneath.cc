// Confined file operations: each resolves its path beneath a directory
// descriptor (see beneath.h) and then acts on the last component with the
// matching *at call, so a directory of a repository replaced by a symlink —
// before the call or while it runs — can never send a write elsewhere.
#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "args.h"
#include "fd.h"
#include "task.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace cfskit {

namespace {

// Whether this kernel has openat2; learnt from the first call (a race
// between threads only repeats the probe).
bool g_no_openat2 = false;

std::vector<std::string> Components(const std::string& rel) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string::npos) slash = rel.size();
    if (slash > start) out.push_back(rel.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// /proc/self/fd/N's target: where a descriptor really is.
bool RealPathOf(int fd, std::string& out) {
  char buf[4096];
  ssize_t n = readlink(ProcFdPath(fd).c_str(), buf, sizeof buf);
  if (n < 0 || static_cast<size_t>(n) >= sizeof buf) return false;
  out.assign(buf, static_cast<size_t>(n));
  return true;
}

// The walk for kernels without openat2: every directory component opened
// with O_NOFOLLOW (a symlink there fails, ELOOP or ENOTDIR), ".." refused.
int WalkBeneath(int dirfd, const std::string& rel, int flags, mode_t mode, SysError& err) {
  std::vector<std::string> parts = Components(rel);
  Fd cur(fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
  if (cur.fd < 0) return err.fail(errno, "fcntl(F_DUPFD)"), -1;
  if (parts.empty()) {
    int fd = openat(cur.fd, ".", flags | O_CLOEXEC, mode);
    if (fd < 0) err.fail(errno, "openat");
    return fd;
  }
  for (size_t i = 0; i + 1 < parts.size(); i++) {
    if (parts[i] == "..") return err.fail(EXDEV, "openat"), -1;
    int next = openat(cur.fd, parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return err.fail(errno == ENOTDIR ? ELOOP : errno, "openat"), -1;
    cur.reset(next);
  }
  if (parts.back() == "..") return err.fail(EXDEV, "openat"), -1;
  int fd = openat(cur.fd, parts.back().c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) err.fail(errno, "openat");
  return fd;
}

}  // namespace

int OpenBeneath(int dirfd, const std::string& rel, int flags, mode_t mode, bool symlinks, SysError& err) {
  const char* path = rel.empty() ? "." : rel.c_str();
  if (!g_no_openat2) {
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (symlinks ? 0 : RESOLVE_NO_SYMLINKS);
    long fd;
    do {
      fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (fd < 0 && errno == EAGAIN);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != ENOSYS) return err.fail(errno, "openat2"), -1;
    g_no_openat2 = true;
  }
  if (!symlinks) return WalkBeneath(dirfd, rel, flags, mode, err);
  // Symlinks allowed and no openat2: open following them, then check where
  // the descriptor really is (a check of the open file, not of the path).
  int fd = openat(dirfd, path, flags | O_CLOEXEC, mode);
  if (fd < 0) return err.fail(errno, "openat"), -1;
  std::string root;
  std::string at;
  if (!RealPathOf(dirfd, root) || !RealPathOf(fd, at) || (at != root && at.compare(0, root.size() + 1, root + "/") != 0)) {
    close(fd);
    return err.fail(EXDEV, "openat"), -1;
  }
  return fd;
}

int OpenParentBeneath(int dirfd, const std::string& rel, std::string& last, SysError& err) {
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
  last = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (last.empty() || last == "." || last == "..") return err.fail(EINVAL, "openat2"), -1;
  return OpenBeneath(dirfd, parent, O_PATH | O_DIRECTORY, 0, false, err);
}

namespace {

Napi::Value Undefined(Napi::Env env, bool&) { return env.Undefined(); }
Napi::Value FdValue(Napi::Env env, int& fd) { return Napi::Number::New(env, fd); }

// openBeneath(dirFd, rel, flags, mode, symlinks) -> fd
Napi::Value OpenBeneathCall(const Napi::CallbackInfo& info) {
  int dirfd = -1;
  std::string rel;
  int64_t flags = 0;
  int64_t mode = 0;
  bool symlinks = false;
  if (!ArgFd(info, 0, dirfd) || !ArgPath(info, 1, rel) || !ArgWhole(info, 2, 0, INT32_MAX, flags) || !ArgWhole(info, 3, 0, 07777, mode) ||
      !ArgBool(info, 4, symlinks)) {
    return info.Env().Undefined();
  }
  return Task<int>::Start(
      info.Env(), rel,
      [dirfd, rel, flags, mode, symlinks](int& fd, SysError& err) {
        fd = OpenBeneath(dirfd, rel, static_cast<int>(flags), static_cast<mode_t>(mode), symlinks, err);
      },
      FdValue);
}

// openBeneathSync(dirFd, rel, flags, symlinks) -> fd: the same, on the
// calling thread. For opening tens of thousands of small cached files (a
// layer's diff/), where a thread-pool round trip costs more than the
// microseconds the open itself takes.
Napi::Value OpenBeneathSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = -1;
  std::string rel;
  int64_t flags = 0;
  bool symlinks = false;
  if (!ArgFd(info, 0, dirfd) || !ArgPath(info, 1, rel) || !ArgWhole(info, 2, 0, INT32_MAX, flags) || !ArgBool(info, 3, symlinks)) {
    return env.Undefined();
  }
  SysError err;
  err.path = rel;
  int fd = OpenBeneath(dirfd, rel, static_cast<int>(flags), 0, symlinks, err);
  if (fd < 0) {
    MakeSysError(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// mkdirsBeneath(dirFd, rel, mode): each missing directory of `rel` made,
// every existing one checked to be a directory and not a symlink.
Napi::Value MkdirsBeneath(const Napi::CallbackInfo& info) {
  int dirfd = -1;
  std::string rel;
  int64_t mode = 0;
  if (!ArgFd(info, 0, dirfd) || !ArgPath(info, 1, rel) || !ArgWhole(info, 2, 0, 07777, mode)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), rel,
      [dirfd, rel, mode](bool&, SysError& err) {
        Fd cur(fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
        if (cur.fd < 0) return (void)err.fail(errno, "fcntl(F_DUPFD)");
        for (const std::string& part : Components(rel)) {
          if (part == "..") return (void)err.fail(EXDEV, "mkdirat");
          if (mkdirat(cur.fd, part.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) return (void)err.fail(errno, "mkdirat");
          int next = OpenBeneath(cur.fd, part, O_PATH | O_DIRECTORY, 0, false, err);
          if (next < 0) return;
          cur.reset(next);
        }
      },
      Undefined);
}

// symlinkBeneath(target, dirFd, rel): a new symlink `rel` (EEXIST if taken).
Napi::Value SymlinkBeneath(const Napi::CallbackInfo& info) {
  std::string target;
  int dirfd = -1;
  std::string rel;
  if (!ArgPath(info, 0, target) || !ArgFd(info, 1, dirfd) || !ArgPath(info, 2, rel)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), rel,
      [target, dirfd, rel](bool&, SysError& err) {
        std::string last;
        Fd parent(OpenParentBeneath(dirfd, rel, last, err));
        if (parent.fd < 0) return;
        if (symlinkat(target.c_str(), parent.fd, last.c_str()) != 0) err.fail(errno, "symlinkat");
      },
      Undefined);
}

// renameBeneath(dirFd, from, to, noReplace): both names beneath dirFd.
Napi::Value RenameBeneath(const Napi::CallbackInfo& info) {
  int dirfd = -1;
  std::string from;
  std::string to;
  bool no_replace = false;
  if (!ArgFd(info, 0, dirfd) || !ArgPath(info, 1, from) || !ArgPath(info, 2, to) || !ArgBool(info, 3, no_replace)) {
    return info.Env().Undefined();
  }
  return Task<bool>::Start(
      info.Env(), to,
      [dirfd, from, to, no_replace](bool&, SysError& err) {
        std::string from_last;
        std::string to_last;
        Fd from_dir(OpenParentBeneath(dirfd, from, from_last, err));
        if (from_dir.fd < 0) return;
        Fd to_dir(OpenParentBeneath(dirfd, to, to_last, err));
        if (to_dir.fd < 0) return;
        if (renameat2(from_dir.fd, from_last.c_str(), to_dir.fd, to_last.c_str(), no_replace ? RENAME_NOREPLACE : 0) != 0) {
          err.fail(errno, "renameat2");
        }
      },
      Undefined);
}

// linkFdBeneath(fd, dirFd, rel): gives the file behind fd (an O_TMPFILE or
// any file) the name `rel`; EEXIST if taken.
Napi::Value LinkFdBeneath(const Napi::CallbackInfo& info) {
  int fd = -1;
  int dirfd = -1;
  std::string rel;
  if (!ArgFd(info, 0, fd) || !ArgFd(info, 1, dirfd) || !ArgPath(info, 2, rel)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), rel,
      [fd, dirfd, rel](bool&, SysError& err) {
        std::string last;
        Fd parent(OpenParentBeneath(dirfd, rel, last, err));
        if (parent.fd < 0) return;
        if (linkat(AT_FDCWD, ProcFdPath(fd).c_str(), parent.fd, last.c_str(), AT_SYMLINK_FOLLOW) != 0) err.fail(errno, "linkat");
      },
      Undefined);
}

// unlinkBeneath(dirFd, rel, directory)
Napi::Value UnlinkBeneath(const Napi::CallbackInfo& info) {
  int dirfd = -1;
  std::string rel;
  bool directory = false;
  if (!ArgFd(info, 0, dirfd) || !ArgPath(info, 1, rel) || !ArgBool(info, 2, directory)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), rel,
      [dirfd, rel, directory](bool&, SysError& err) {
        std::string last;
        Fd parent(OpenParentBeneath(dirfd, rel, last, err));
        if (parent.fd < 0) return;
        if (unlinkat(parent.fd, last.c_str(), directory ? AT_REMOVEDIR : 0) != 0) err.fail(errno, "unlinkat");
      },
      Undefined);
}

// readlinkBeneath(dirFd, rel) -> Buffer (EINVAL: not a symlink)
Napi::Value ReadlinkBeneath(const Napi::CallbackInfo& info) {
  int dirfd = -1;
  std::string rel;
  if (!ArgFd(info, 0, dirfd) || !ArgPath(info, 1, rel)) return info.Env().Undefined();
  return Task<std::string>::Start(
      info.Env(), rel,
      [dirfd, rel](std::string& target, SysError& err) {
        std::string last;
        Fd parent(OpenParentBeneath(dirfd, rel, last, err));
        if (parent.fd < 0) return;
        char buf[4096];
        ssize_t n = readlinkat(parent.fd, last.c_str(), buf, sizeof buf);
        if (n < 0) return (void)err.fail(errno, "readlinkat");
        if (static_cast<size_t>(n) >= sizeof buf) return (void)err.fail(ENAMETOOLONG, "readlinkat");
        target.assign(buf, static_cast<size_t>(n));
      },
      [](Napi::Env env, std::string& target) -> Napi::Value { return Napi::Buffer<char>::Copy(env, target.data(), target.size()); });
}

}  // namespace

void InitBeneath(Napi::Env env, Napi::Object exports) {
  exports.Set("openBeneath", Napi::Function::New(env, OpenBeneathCall, "openBeneath"));
  exports.Set("openBeneathSync", Napi::Function::New(env, OpenBeneathSync, "openBeneathSync"));
  exports.Set("mkdirsBeneath", Napi::Function::New(env, MkdirsBeneath, "mkdirsBeneath"));
  exports.Set("symlinkBeneath", Napi::Function::New(env, SymlinkBeneath, "symlinkBeneath"));
  exports.Set("renameBeneath", Napi::Function::New(env, RenameBeneath, "renameBeneath"));
  exports.Set("linkFdBeneath", Napi::Function::New(env, LinkFdBeneath, "linkFdBeneath"));
  exports.Set("unlinkBeneath", Napi::Function::New(env, UnlinkBeneath, "unlinkBeneath"));
  exports.Set("readlinkBeneath", Napi::Function::New(env, ReadlinkBeneath, "readlinkBeneath"));
}

}  // namespace cfskit
