// Mounting: loop devices (LOOP_CTL_GET_FREE + LOOP_CONFIGURE), the new
// mount API (fsopen, fsconfig, fsmount, move_mount) and umount2. These are
// the steps of a composefs mount; src/mount/ puts them in order and undoes
// them when one fails. A failed fsconfig or fsmount carries the kernel's own
// explanation, read from the file system context's log, as `detail`.
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "task.h"

namespace cfskit {

namespace {

Napi::Value Undefined(Napi::Env env, bool&) { return env.Undefined(); }
Napi::Value FdValue(Napi::Env env, int& fd) { return Napi::Number::New(env, fd); }

// The messages the kernel logged on a file system context ("e overlayfs:
// ..."), joined; reading drains them. Bounded: the log holds at most 8.
std::string DrainFsLog(int fs_fd) {
  std::string all;
  char buf[1024];
  for (int i = 0; i < 16; i++) {
    ssize_t n = read(fs_fd, buf, sizeof(buf) - 1);
    if (n <= 0) break;
    std::string line(buf, static_cast<size_t>(n));
    // Drop the severity letter the kernel puts first.
    if (line.size() > 2 && line[1] == ' ') line.erase(0, 2);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    if (!all.empty()) all += "; ";
    all += line;
  }
  return all;
}

// Records a failed fsconfig/fsmount together with the kernel's log.
void FailWithLog(SysError& err, int fs_fd, int errnum, std::string call) {
  err.fail(errnum, std::move(call));
  err.detail = DrainFsLog(fs_fd);
}

struct Loop {
  int fd = -1;
  int index = -1;
  std::string device;
};

// Another process can take the device LOOP_CTL_GET_FREE named before our
// LOOP_CONFIGURE (EBUSY); then ask for another.
constexpr int kLoopAttempts = 64;

// Opens /dev/loopN read-write, or read-only where that is all it allows
// (a read-only loop device needs no more).
int OpenLoopDevice(const std::string& device) {
  int fd = open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && (errno == EACCES || errno == EROFS)) fd = open(device.c_str(), O_RDONLY | O_CLOEXEC);
  return fd;
}

// loopAttach(backingFd, readOnly, autoclear) -> { fd, index, device }: a
// free loop device configured in one ioctl (no window in which it is bound
// without its flags). With `autoclear` the device detaches itself when its
// last opener closes it: the caller's fd, then whatever mounts it.
Napi::Value LoopAttach(const Napi::CallbackInfo& info) {
  int backing = -1;
  bool read_only = true;
  bool autoclear = true;
  if (!ArgFd(info, 0, backing) || !ArgBool(info, 1, read_only) || !ArgBool(info, 2, autoclear)) {
    return info.Env().Undefined();
  }
  return Task<Loop>::Start(
      info.Env(), "/dev/loop-control",
      [backing, read_only, autoclear](Loop& loop, SysError& err) {
        int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (control < 0) {
          err.fail(errno, "open");
          return;
        }
        for (int attempt = 0;; attempt++) {
          int index = ioctl(control, LOOP_CTL_GET_FREE);
          if (index < 0) {
            err.fail(errno, "ioctl(LOOP_CTL_GET_FREE)");
            break;
          }
          std::string device = "/dev/loop" + std::to_string(index);
          int fd = OpenLoopDevice(device);
          if (fd < 0) {
            err.path = device;
            err.fail(errno, "open");
            break;
          }
          struct loop_config config;
          memset(&config, 0, sizeof(config));
          config.fd = static_cast<uint32_t>(backing);
          config.info.lo_flags = (read_only ? LO_FLAGS_READ_ONLY : 0) | (autoclear ? LO_FLAGS_AUTOCLEAR : 0);
          if (ioctl(fd, LOOP_CONFIGURE, &config) == 0) {
            loop.fd = fd;
            loop.index = index;
            loop.device = device;
            break;
          }
          int errnum = errno;
          close(fd);
          if (errnum == EBUSY && attempt + 1 < kLoopAttempts) continue;
          err.path = device;
          err.fail(errnum, "ioctl(LOOP_CONFIGURE)");
          break;
        }
        close(control);
      },
      [](Napi::Env env, Loop& loop) -> Napi::Value {
        auto result = Napi::Object::New(env);
        result.Set("fd", Napi::Number::New(env, loop.fd));
        result.Set("index", Napi::Number::New(env, loop.index));
        result.Set("device", Napi::String::New(env, loop.device));
        return result;
      });
}

// fsOpen(fsType) -> fd of a new file system context (FSOPEN_CLOEXEC).
Napi::Value FsOpen(const Napi::CallbackInfo& info) {
  std::string type;
  if (!ArgString(info, 0, type)) return info.Env().Undefined();
  return Task<int>::Start(
      info.Env(), type,
      [type](int& fd, SysError& err) {
        fd = fsopen(type.c_str(), FSOPEN_CLOEXEC);
        if (fd < 0) err.fail(errno, "fsopen");
      },
      FdValue);
}

// fsConfigString(fsFd, key, value): FSCONFIG_SET_STRING.
Napi::Value FsConfigString(const Napi::CallbackInfo& info) {
  int fs_fd = -1;
  std::string key;
  std::string value;
  if (!ArgFd(info, 0, fs_fd) || !ArgString(info, 1, key) || !ArgString(info, 2, value)) {
    return info.Env().Undefined();
  }
  return Task<bool>::Start(
      info.Env(), key + "=" + value,
      [fs_fd, key, value](bool&, SysError& err) {
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0) != 0) {
          FailWithLog(err, fs_fd, errno, "fsconfig");
        }
      },
      Undefined);
}

// fsConfigFlag(fsFd, key): FSCONFIG_SET_FLAG (an option without a value).
Napi::Value FsConfigFlag(const Napi::CallbackInfo& info) {
  int fs_fd = -1;
  std::string key;
  if (!ArgFd(info, 0, fs_fd) || !ArgString(info, 1, key)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), key,
      [fs_fd, key](bool&, SysError& err) {
        if (fsconfig(fs_fd, FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0) != 0) FailWithLog(err, fs_fd, errno, "fsconfig");
      },
      Undefined);
}

// fsConfigCreate(fsFd): FSCONFIG_CMD_CREATE, the superblock from the options.
Napi::Value FsConfigCreate(const Napi::CallbackInfo& info) {
  int fs_fd = -1;
  if (!ArgFd(info, 0, fs_fd)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), "fd " + std::to_string(fs_fd),
      [fs_fd](bool&, SysError& err) {
        if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
          FailWithLog(err, fs_fd, errno, "fsconfig(FSCONFIG_CMD_CREATE)");
        }
      },
      Undefined);
}

// fsMount(fsFd, readOnly) -> fd of a detached mount (FSMOUNT_CLOEXEC); it
// vanishes when closed unless moveMount attaches it.
Napi::Value FsMount(const Napi::CallbackInfo& info) {
  int fs_fd = -1;
  bool read_only = false;
  if (!ArgFd(info, 0, fs_fd) || !ArgBool(info, 1, read_only)) return info.Env().Undefined();
  return Task<int>::Start(
      info.Env(), "fd " + std::to_string(fs_fd),
      [fs_fd, read_only](int& fd, SysError& err) {
        fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, read_only ? MOUNT_ATTR_RDONLY : 0);
        if (fd < 0) FailWithLog(err, fs_fd, errno, "fsmount");
      },
      FdValue);
}

// moveMount(mountFd, path): attaches a detached mount at `path`.
Napi::Value MoveMount(const Napi::CallbackInfo& info) {
  int mount_fd = -1;
  std::string path;
  if (!ArgFd(info, 0, mount_fd) || !ArgPath(info, 1, path)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), path,
      [mount_fd, path](bool&, SysError& err) {
        if (move_mount(mount_fd, "", AT_FDCWD, path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
          err.fail(errno, "move_mount");
        }
      },
      Undefined);
}

// unmount(path, detach): umount2 without following a final symlink; with
// `detach` lazily (MNT_DETACH), for mounts nobody should be using.
Napi::Value Unmount(const Napi::CallbackInfo& info) {
  std::string path;
  bool detach = false;
  if (!ArgPath(info, 0, path) || !ArgBool(info, 1, detach)) return info.Env().Undefined();
  return Task<bool>::Start(
      info.Env(), path,
      [path, detach](bool&, SysError& err) {
        if (umount2(path.c_str(), UMOUNT_NOFOLLOW | (detach ? MNT_DETACH : 0)) != 0) err.fail(errno, "umount2");
      },
      Undefined);
}

}  // namespace

void InitMount(Napi::Env env, Napi::Object exports) {
  exports.Set("loopAttach", Napi::Function::New(env, LoopAttach, "loopAttach"));
  exports.Set("fsOpen", Napi::Function::New(env, FsOpen, "fsOpen"));
  exports.Set("fsConfigString", Napi::Function::New(env, FsConfigString, "fsConfigString"));
  exports.Set("fsConfigFlag", Napi::Function::New(env, FsConfigFlag, "fsConfigFlag"));
  exports.Set("fsConfigCreate", Napi::Function::New(env, FsConfigCreate, "fsConfigCreate"));
  exports.Set("fsMount", Napi::Function::New(env, FsMount, "fsMount"));
  exports.Set("moveMount", Napi::Function::New(env, MoveMount, "moveMount"));
  exports.Set("unmount", Napi::Function::New(env, Unmount, "unmount"));
}

}  // namespace cfskit
