// fs-verity ioctls: enable verity on a file, read the kernel's measurement.
#include "verity.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fsverity.h>
#include <string.h>
#include <sys/ioctl.h>

#include "args.h"
#include "task.h"

namespace cfskit {

// The largest digest the kernel reports (SHA-512).
constexpr size_t kMaxDigest = 64;

int EnableVerityFd(int fd, uint32_t algorithm, uint32_t block_size) {
  fsverity_enable_arg arg;
  memset(&arg, 0, sizeof(arg));
  arg.version = 1;
  arg.hash_algorithm = algorithm;
  arg.block_size = block_size;
  return ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) == 0 ? 0 : errno;
}

int MeasureVerityFd(int fd, uint16_t& algorithm, std::vector<uint8_t>& digest) {
  alignas(fsverity_digest) uint8_t buf[sizeof(fsverity_digest) + kMaxDigest] = {};
  auto* d = reinterpret_cast<fsverity_digest*>(buf);
  d->digest_size = kMaxDigest;
  if (ioctl(fd, FS_IOC_MEASURE_VERITY, d) != 0) return errno;
  algorithm = d->digest_algorithm;
  digest.assign(d->digest, d->digest + d->digest_size);
  return 0;
}

namespace {

struct Measurement {
  uint16_t algorithm = 0;
  std::vector<uint8_t> digest;
};

// measureVerity(pathOrFd) -> Promise<{ algorithm, digest }>
Napi::Value MeasureVerity(const Napi::CallbackInfo& info) {
  Target target;
  if (!ArgTarget(info, 0, target)) return info.Env().Undefined();
  return Task<Measurement>::Start(
      info.Env(), target.path,
      [target](Measurement& out, SysError& err) {
        int fd = OpenTarget(target, O_RDONLY, err);
        if (fd < 0) return;
        int code = MeasureVerityFd(fd, out.algorithm, out.digest);
        if (code != 0) err.fail(code, "ioctl(FS_IOC_MEASURE_VERITY)");
        CloseTarget(target, fd);
      },
      [](Napi::Env env, Measurement& m) -> Napi::Value {
        auto result = Napi::Object::New(env);
        result.Set("algorithm", Napi::Number::New(env, m.algorithm));
        result.Set("digest", Napi::Buffer<uint8_t>::Copy(env, m.digest.data(), m.digest.size()));
        return result;
      });
}

// enableVerity(pathOrFd, hashAlgorithm, blockSize) -> Promise<void>
// The file must have no writable descriptors open anywhere (else ETXTBSY).
// The algorithm is a kernel id (1 sha256, 2 sha512) and the block size a
// power of two the kernel may take; others never reach the ioctl.
Napi::Value EnableVerity(const Napi::CallbackInfo& info) {
  Target target;
  int64_t algorithm = 0;
  int64_t block_size = 0;
  if (!ArgTarget(info, 0, target) || !ArgWhole(info, 1, 1, 2, algorithm) || !ArgWhole(info, 2, 1024, 65536, block_size)) {
    return info.Env().Undefined();
  }
  if ((block_size & (block_size - 1)) != 0) {
    Napi::RangeError::New(info.Env(), "argument 2 must be a power of two").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Task<bool>::Start(
      info.Env(), target.path,
      [target, algorithm, block_size](bool&, SysError& err) {
        int fd = OpenTarget(target, O_RDONLY, err);
        if (fd < 0) return;
        int code = EnableVerityFd(fd, static_cast<uint32_t>(algorithm), static_cast<uint32_t>(block_size));
        if (code != 0) err.fail(code, "ioctl(FS_IOC_ENABLE_VERITY)");
        CloseTarget(target, fd);
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

}  // namespace

void InitVerity(Napi::Env env, Napi::Object exports) {
  exports.Set("measureVerity", Napi::Function::New(env, MeasureVerity, "measureVerity"));
  exports.Set("enableVerity", Napi::Function::New(env, EnableVerity, "enableVerity"));
}

}  // namespace cfskit
