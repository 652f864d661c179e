// Moving file data and publishing names: reflink (FICLONE), in-kernel copy,
// O_TMPFILE objects linked into place once complete, no-replace renames,
// and syncing. These are the steps of an object import that must not leave
// a partial file under its final name.
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "args.h"
#include "files.h"
#include "task.h"

namespace cfskit {

namespace {

Napi::Value Undefined(Napi::Env env, bool&) { return env.Undefined(); }
Napi::Value FdValue(Napi::Env env, int& fd) { return Napi::Number::New(env, fd); }

// ficlone(srcFd, dstFd): dst shares src's extents (whole file).
Napi::Value Ficlone(const Napi::CallbackInfo& info) {
  int src = -1;
  int dst = -1;
  if (!ArgFd(info, 0, src) || !ArgFd(info, 1, dst)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), FdName(dst),
      [src, dst](bool&, SysError& err) {
        if (ioctl(dst, FICLONE, src) != 0) err.fail(errno, "ioctl(FICLONE)");
      },
      Undefined);
}

// Each copy_file_range call is bounded (the kernel caps one near 2 GiB
// anyway); files of a few tens of MiB already go round the loop.
constexpr size_t kCopyChunk = size_t{16} << 20;
constexpr size_t kBufferSize = size_t{1} << 20;

// Errors that mean "this pair of files cannot use copy_file_range", not
// "the copy failed": across file systems (EXDEV since Linux 5.19), file
// systems or seccomp filters without it.
bool CopyUnsupported(int err) { return err == EXDEV || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL; }

// One chunk through user space, at the same offset in both files: pread,
// then pwrite all of it. Returns the bytes moved (0 at src's end) or -1
// with `err` set.
ssize_t CopyChunkByReadWrite(int src, int dst, off_t offset, size_t want, std::vector<char>& buf, SysError& err) {
  if (buf.empty()) buf.resize(kBufferSize);
  ssize_t got;
  do {
    got = pread(src, buf.data(), std::min(want, buf.size()), offset);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    err.fail(errno, "pread");
    return -1;
  }
  for (ssize_t done = 0; done < got;) {
    ssize_t put = pwrite(dst, buf.data() + done, static_cast<size_t>(got - done), offset + done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) {
      err.fail(errno, "pwrite");
      return -1;
    }
    done += put;
  }
  return got;
}

}  // namespace

// [0, length) of src to dst at offset 0, in the kernel where it can, through
// a buffer where it cannot. Returns the bytes copied (fewer only when src is
// shorter), or -1 with `err` set.
int64_t CopyRange(int src, int dst, int64_t length, SysError& err) {
  bool by_read_write = false;
  std::vector<char> buf;
  int64_t copied = 0;
  while (copied < length) {
    size_t want = static_cast<size_t>(std::min<int64_t>(length - copied, kCopyChunk));
    ssize_t n;
    if (by_read_write) {
      n = CopyChunkByReadWrite(src, dst, copied, want, buf, err);
      if (n < 0) return -1;
    } else {
      loff_t in = copied;
      loff_t out = copied;
      n = copy_file_range(src, &in, dst, &out, want, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && CopyUnsupported(errno)) {
        by_read_write = true;
        continue;
      }
      if (n < 0) {
        err.fail(errno, "copy_file_range");
        return -1;
      }
    }
    if (n == 0) break;
    copied += n;
  }
  return copied;
}

namespace {

// copyFileRange(srcFd, dstFd, length) -> bytes copied: [0, length) of src to
// dst at offset 0, fewer only when src is shorter. Explicit offsets leave
// both descriptors' file positions alone.
Napi::Value CopyFileRange(const Napi::CallbackInfo& info) {
  int src = -1;
  int dst = -1;
  int64_t length = 0;
  if (!ArgFd(info, 0, src) || !ArgFd(info, 1, dst) || !ArgWhole(info, 2, 0, kMaxSafeInteger, length)) {
    return info.Env().Undefined();
  }
  return Task<int64_t>::Start(
      info.Env(), FdName(dst),
      [src, dst, length](int64_t& copied, SysError& err) { copied = CopyRange(src, dst, length, err); },
      [](Napi::Env env, int64_t& copied) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(copied)); });
}

// openTmpfile(dir, mode) -> fd of a nameless file in dir's file system;
// closing it unlinked frees it, so a crash leaves nothing half-written.
Napi::Value OpenTmpfile(const Napi::CallbackInfo& info) {
  std::string dir;
  int64_t mode = 0;
  if (!ArgPath(info, 0, dir) || !ArgWhole(info, 1, 0, 07777, mode)) return info.Env().Undefined();
  return Task<int>::Start(
      info.Env(), dir,
      [dir, mode](int& fd, SysError& err) {
        fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, static_cast<mode_t>(mode));
        if (fd < 0) err.fail(errno, "open(O_TMPFILE)");
      },
      FdValue);
}

// reopenReadOnly(fd) -> a new read-only fd of the same inode. Going through
// /proc works for an O_TMPFILE, which has no name to open; the writer can
// then close its writable fd, as FS_IOC_ENABLE_VERITY requires.
Napi::Value ReopenReadOnly(const Napi::CallbackInfo& info) {
  int fd = -1;
  if (!ArgFd(info, 0, fd)) return info.Env().Undefined();
  return Task<int>::Start(
      info.Env(), FdName(fd),
      [fd](int& ro, SysError& err) {
        ro = open(ProcFdPath(fd).c_str(), O_RDONLY | O_CLOEXEC);
        if (ro < 0) err.fail(errno, "open(/proc/self/fd)");
      },
      FdValue);
}

// linkTmpfile(fd, path): gives the file behind fd the name `path`. Through
// /proc with AT_SYMLINK_FOLLOW, unlike AT_EMPTY_PATH, this needs no
// CAP_DAC_READ_SEARCH. An existing `path` is left alone (EEXIST).
Napi::Value LinkTmpfile(const Napi::CallbackInfo& info) {
  int fd = -1;
  std::string path;
  if (!ArgFd(info, 0, fd) || !ArgPath(info, 1, path)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), path,
      [fd, path](bool&, SysError& err) {
        if (linkat(AT_FDCWD, ProcFdPath(fd).c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
          err.fail(errno, "linkat");
        }
      },
      Undefined);
}

// linkFile(from, to): a hard link; a symlink `from` is linked itself.
Napi::Value LinkFile(const Napi::CallbackInfo& info) {
  std::string from;
  std::string to;
  if (!ArgPath(info, 0, from) || !ArgPath(info, 1, to)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), to,
      [from, to](bool&, SysError& err) {
        if (linkat(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), 0) != 0) err.fail(errno, "linkat");
      },
      Undefined);
}

// renameNoReplace(from, to): EEXIST instead of replacing `to`.
Napi::Value RenameNoReplace(const Napi::CallbackInfo& info) {
  std::string from;
  std::string to;
  if (!ArgPath(info, 0, from) || !ArgPath(info, 1, to)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), to,
      [from, to](bool&, SysError& err) {
        if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
          err.fail(errno, "renameat2");
        }
      },
      Undefined);
}

// syncfs(fd) / fsyncFd(fd): both may wait on the disk for a long time.
Napi::Value SyncCall(const Napi::CallbackInfo& info, int (*call)(int), const char* name) {
  int fd = -1;
  if (!ArgFd(info, 0, fd)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), FdName(fd),
      [fd, call, name](bool&, SysError& err) {
        if (call(fd) != 0) err.fail(errno, name);
      },
      Undefined);
}
Napi::Value Syncfs(const Napi::CallbackInfo& info) { return SyncCall(info, syncfs, "syncfs"); }
Napi::Value FsyncFd(const Napi::CallbackInfo& info) { return SyncCall(info, fsync, "fsync"); }

}  // namespace

void InitFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("ficlone", Napi::Function::New(env, Ficlone, "ficlone"));
  exports.Set("copyFileRange", Napi::Function::New(env, CopyFileRange, "copyFileRange"));
  exports.Set("openTmpfile", Napi::Function::New(env, OpenTmpfile, "openTmpfile"));
  exports.Set("reopenReadOnly", Napi::Function::New(env, ReopenReadOnly, "reopenReadOnly"));
  exports.Set("linkTmpfile", Napi::Function::New(env, LinkTmpfile, "linkTmpfile"));
  exports.Set("linkFile", Napi::Function::New(env, LinkFile, "linkFile"));
  exports.Set("renameNoReplace", Napi::Function::New(env, RenameNoReplace, "renameNoReplace"));
  exports.Set("syncfs", Napi::Function::New(env, Syncfs, "syncfs"));
  exports.Set("fsyncFd", Napi::Function::New(env, FsyncFd, "fsyncFd"));
}

}  // namespace cfskit
