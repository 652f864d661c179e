// statx: what the repository needs to know about a file without opening
// it, read the way Node's fs.lstat reads it (the final symlink not followed).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "args.h"
#include "task.h"

namespace cfskit {

namespace {

// statx(pathOrFd) -> { dev, devMajor, devMinor, ino, nlink, mode, uid, gid,
// size, blocks, mtimeSec, mtimeNsec, attributes }; 64-bit fields as BigInt.
Napi::Value Statx(const Napi::CallbackInfo& info) {
  Target target;
  if (!ArgTarget(info, 0, target)) return info.Env().Undefined();
  return Task<struct statx>::Start(
      info.Env(), target.path,
      [target](struct statx& st, SysError& err) {
        // AT_STATX_SYNC_AS_STAT: what stat(2) would say, no forced network sync.
        int rc = target.fd >= 0
                     ? statx(target.fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &st)
                     : statx(AT_FDCWD, target.path.c_str(), AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
                             STATX_BASIC_STATS, &st);
        if (rc != 0) err.fail(errno, "statx");
      },
      [](Napi::Env env, struct statx& st) -> Napi::Value {
        auto result = Napi::Object::New(env);
        result.Set("dev", Napi::BigInt::New(env, static_cast<uint64_t>(makedev(st.stx_dev_major, st.stx_dev_minor))));
        result.Set("devMajor", Napi::Number::New(env, st.stx_dev_major));
        result.Set("devMinor", Napi::Number::New(env, st.stx_dev_minor));
        result.Set("ino", Napi::BigInt::New(env, static_cast<uint64_t>(st.stx_ino)));
        result.Set("nlink", Napi::Number::New(env, st.stx_nlink));
        result.Set("mode", Napi::Number::New(env, st.stx_mode));
        result.Set("uid", Napi::Number::New(env, st.stx_uid));
        result.Set("gid", Napi::Number::New(env, st.stx_gid));
        result.Set("size", Napi::BigInt::New(env, static_cast<uint64_t>(st.stx_size)));
        result.Set("blocks", Napi::BigInt::New(env, static_cast<uint64_t>(st.stx_blocks)));
        result.Set("mtimeSec", Napi::BigInt::New(env, static_cast<int64_t>(st.stx_mtime.tv_sec)));
        result.Set("mtimeNsec", Napi::Number::New(env, st.stx_mtime.tv_nsec));
        result.Set("attributes", Napi::BigInt::New(env, static_cast<uint64_t>(st.stx_attributes)));
        return result;
      });
}

}  // namespace

void InitStat(Napi::Env env, Napi::Object exports) {
  exports.Set("statx", Napi::Function::New(env, Statx, "statx"));
}

}  // namespace cfskit
