// storeObjects: content-addressed objects from open source files, each
// one's whole sequence on the thread pool — is it there already;
// reflink, hardlink or copy it in (in the caller's order of preference);
// fs-verity enabled and measured where asked; linked under its name only
// when complete. Importing an image stores tens of thousands of objects,
// and every round trip to JavaScript would cost more than the system calls.
// writeObjects: the same for contents held in memory (small files of a tar).
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "files.h"
#include "task.h"
#include "verity.h"

namespace cfskit {

namespace {

enum class Strategy { kReflink, kHardlink, kCopy };

struct StoreRequest {
  int src = -1;
  std::string dir;
  int64_t size = 0;
  // "xx/rest" when the caller knows the ID; empty: from the measurement.
  std::string name;
  std::vector<Strategy> strategies;
  int algorithm = 0;  // 0: no fs-verity (insecure repository)
  int block_size = 4096;
  std::vector<uint64_t> skip_reflink_devs;
};

struct StoreResult {
  // stored | exists | refused | not-regular | size-mismatch | changed | digest-mismatch
  std::string status = "refused";
  const char* strategy = nullptr;
  std::vector<uint8_t> digest;
  uint64_t src_dev = 0;
  bool reflink_unsupported = false;
  int64_t actual_size = 0;
};

const char* StrategyName(Strategy m) {
  switch (m) {
    case Strategy::kReflink:
      return "reflink";
    case Strategy::kHardlink:
      return "hardlink";
    case Strategy::kCopy:
      return "copy";
  }
  return "?";
}

std::string Hex(const uint8_t* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; i++) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

// A writable O_TMPFILE's content, reopened read-only (fs-verity requires
// that no writer remains); the writable descriptor is closed.
int SealTmpfile(Fd& tmp, SysError& err) {
  int ro = open(ProcFdPath(tmp.fd).c_str(), O_RDONLY | O_CLOEXEC);
  if (ro < 0) err.fail(errno, "open(/proc/self/fd)");
  tmp.reset();
  return ro;
}

// Enables verity (tolerating "already enabled") and measures it. Returns
// false with errno-like `code` set when the file system refuses.
bool EnableAndMeasure(int fd, const StoreRequest& req, std::vector<uint8_t>& digest, int& code) {
  code = EnableVerityFd(fd, static_cast<uint32_t>(req.algorithm), static_cast<uint32_t>(req.block_size));
  if (code != 0 && code != EEXIST) return false;
  uint16_t algorithm = 0;
  code = MeasureVerityFd(fd, algorithm, digest);
  return code == 0;
}

bool Unchanged(int src, const struct stat& before) {
  struct stat now;
  if (fstat(src, &now) != 0) return false;
  return now.st_size == before.st_size && now.st_mtim.tv_sec == before.st_mtim.tv_sec &&
         now.st_mtim.tv_nsec == before.st_mtim.tv_nsec;
}

// Links `fd` as dir/name (creating dir/xx); false for "exists".
bool LinkObject(int fd, int dirfd, const std::string& name, int& code) {
  std::string sub = name.substr(0, 2);
  if (mkdirat(dirfd, sub.c_str(), 0755) != 0 && errno != EEXIST) {
    code = errno;
    return false;
  }
  if (linkat(AT_FDCWD, ProcFdPath(fd).c_str(), dirfd, name.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    code = errno;
    return false;
  }
  code = 0;
  return true;
}

void Store(const StoreRequest& req, StoreResult& out, SysError& err) {
  struct stat st;
  if (fstat(req.src, &st) != 0) return (void)err.fail(errno, "fstat");
  out.src_dev = st.st_dev;
  out.actual_size = st.st_size;
  if (!S_ISREG(st.st_mode)) return (void)(out.status = "not-regular");
  if (st.st_size != req.size) return (void)(out.status = "size-mismatch");
  Fd dir(open(req.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd < 0) return (void)err.fail(errno, "open(objects)");
  struct stat existing;
  if (!req.name.empty() && fstatat(dir.fd, req.name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISREG(existing.st_mode) && existing.st_size == req.size) {
    out.status = "exists";
    return;
  }
  struct stat dir_st;
  if (fstat(dir.fd, &dir_st) != 0) return (void)err.fail(errno, "fstat(objects)");

  for (Strategy strategy : req.strategies) {
    Fd staged;  // the object's content, read-only, or the source itself for links
    if (strategy == Strategy::kReflink) {
      bool skip = false;
      for (uint64_t dev : req.skip_reflink_devs) skip = skip || dev == st.st_dev;
      if (skip) continue;
      Fd tmp(openat(dir.fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644));
      if (tmp.fd < 0) return (void)err.fail(errno, "open(O_TMPFILE)");
      if (ioctl(tmp.fd, FICLONE, req.src) != 0) {
        int e = errno;
        if (e == EOPNOTSUPP || e == EXDEV || e == EINVAL || e == ENOTTY) {
          out.reflink_unsupported = true;
          continue;
        }
        return (void)err.fail(e, "ioctl(FICLONE)");
      }
      staged.reset(SealTmpfile(tmp, err));
    } else if (strategy == Strategy::kCopy) {
      Fd tmp(openat(dir.fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644));
      if (tmp.fd < 0) return (void)err.fail(errno, "open(O_TMPFILE)");
      int64_t copied = CopyRange(req.src, tmp.fd, req.size, err);
      if (copied < 0) return;
      if (copied != req.size) return (void)(out.status = "changed");
      staged.reset(SealTmpfile(tmp, err));
    } else {
      if (dir_st.st_dev != st.st_dev) continue;
      staged.reset(dup(req.src));
    }
    if (staged.fd < 0) {
      if (!err.failed()) err.fail(errno, "dup");
      return;
    }
    std::string name = req.name;
    if (req.algorithm != 0) {
      int code = 0;
      if (!EnableAndMeasure(staged.fd, req, out.digest, code)) {
        // A source we may not seal (busy, foreign file system) cannot be
        // linked; a new object that cannot get verity is a real failure.
        if (strategy == Strategy::kHardlink) continue;
        return (void)err.fail(code, "ioctl(FS_IOC_ENABLE_VERITY)");
      }
      std::string measured = Hex(out.digest.data(), out.digest.size());
      measured.insert(2, "/");
      if (!name.empty() && name != measured) return (void)(out.status = "digest-mismatch");
      name = measured;
      if (fstatat(dir.fd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(existing.st_mode) &&
          existing.st_size == req.size) {
        out.status = "exists";
        return;
      }
    }
    if (strategy != Strategy::kHardlink && req.algorithm == 0 && !Unchanged(req.src, st)) {
      return (void)(out.status = "changed");
    }
    int code = 0;
    if (LinkObject(staged.fd, dir.fd, name, code)) {
      out.status = "stored";
      out.strategy = StrategyName(strategy);
      return;
    }
    if (code == EEXIST) return (void)(out.status = "exists");
    // A hardlink the kernel refuses (protected_hardlinks, link count): next.
    if (strategy == Strategy::kHardlink && (code == EPERM || code == EMLINK || code == EXDEV)) continue;
    return (void)err.fail(code, "linkat");
  }
}

bool ArgStrategies(const Napi::CallbackInfo& info, size_t i, std::vector<Strategy>& out) {
  if (info.Length() <= i || !info[i].IsArray()) {
    Napi::TypeError::New(info.Env(), "strategies must be an array").ThrowAsJavaScriptException();
    return false;
  }
  auto list = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < list.Length(); k++) {
    Napi::Value v = list.Get(k);
    std::string m = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    if (m == "reflink") out.push_back(Strategy::kReflink);
    else if (m == "hardlink") out.push_back(Strategy::kHardlink);
    else if (m == "copy") out.push_back(Strategy::kCopy);
    else {
      Napi::TypeError::New(info.Env(), "unknown store strategy (reflink, hardlink or copy)").ThrowAsJavaScriptException();
      return false;
    }
  }
  return true;
}

bool ArgDevs(const Napi::CallbackInfo& info, size_t i, std::vector<uint64_t>& out) {
  if (info.Length() <= i || !info[i].IsArray()) {
    Napi::TypeError::New(info.Env(), "devices must be an array of bigints").ThrowAsJavaScriptException();
    return false;
  }
  auto list = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < list.Length(); k++) {
    Napi::Value v = list.Get(k);
    if (!v.IsBigInt()) {
      Napi::TypeError::New(info.Env(), "devices must be bigints").ThrowAsJavaScriptException();
      return false;
    }
    bool lossless = false;
    out.push_back(v.As<Napi::BigInt>().Uint64Value(&lossless));
  }
  return true;
}

Napi::Value ResultValue(Napi::Env env, const StoreResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("status", r.status);
  o.Set("strategy", r.strategy ? Napi::String::New(env, r.strategy) : env.Null());
  o.Set("digest", r.digest.empty() ? env.Null() : Napi::Buffer<uint8_t>::Copy(env, r.digest.data(), r.digest.size()).As<Napi::Value>());
  o.Set("srcDev", Napi::BigInt::New(env, r.src_dev));
  o.Set("reflinkUnsupported", Napi::Boolean::New(env, r.reflink_unsupported));
  o.Set("actualSize", Napi::Number::New(env, static_cast<double>(r.actual_size)));
  return o;
}

bool ArgName(Napi::Env env, const std::string& name) {
  if (name.empty() || (name.size() >= 4 && name[2] == '/' && name.find('/', 3) == std::string::npos &&
                       name.find("..") == std::string::npos)) {
    return true;
  }
  Napi::TypeError::New(env, "object name must be xx/rest").ThrowAsJavaScriptException();
  return false;
}

// A batch stores one object after another on one pool thread: crossing
// into the addon and back costs tens of microseconds, more than storing a
// small object, so an import hands them over a few dozen at a time. A
// failure (a system call that really failed) is that entry's `error`; the
// others still run.
struct BatchEntry {
  StoreRequest req;
  StoreResult result;
  SysError error;
};

struct Batch {
  std::vector<BatchEntry> entries;
};

// storeObjects(objectsDir, fds, sizes, names, strategies, algorithm, blockSize, skipReflinkDevs)
//   -> Promise<Array<result | { error }>>, one per fd, in order
Napi::Value StoreObjects(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StoreRequest shared;
  int64_t algorithm = 0;
  int64_t block = 0;
  if (!ArgPath(info, 0, shared.dir) || info.Length() < 4 || !info[1].IsArray() || !info[2].IsArray() || !info[3].IsArray() ||
      !ArgStrategies(info, 4, shared.strategies) || !ArgWhole(info, 5, 0, 2, algorithm) || !ArgWhole(info, 6, 1024, 65536, block) ||
      !ArgDevs(info, 7, shared.skip_reflink_devs)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "fds, sizes and names must be arrays").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  shared.algorithm = static_cast<int>(algorithm);
  shared.block_size = static_cast<int>(block);
  auto fds = info[1].As<Napi::Array>();
  auto sizes = info[2].As<Napi::Array>();
  auto names = info[3].As<Napi::Array>();
  uint32_t n = fds.Length();
  if (sizes.Length() != n || names.Length() != n || n > 4096) {
    Napi::RangeError::New(env, "fds, sizes and names must have the same length (at most 4096)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Batch batch;
  batch.entries.resize(n);
  for (uint32_t k = 0; k < n; k++) {
    BatchEntry& e = batch.entries[k];
    e.req = shared;
    Napi::Value fd = fds.Get(k);
    Napi::Value size = sizes.Get(k);
    Napi::Value name = names.Get(k);
    double fdv = fd.IsNumber() ? fd.As<Napi::Number>().DoubleValue() : -1;
    double sizev = size.IsNumber() ? size.As<Napi::Number>().DoubleValue() : -1;
    if (!(fdv >= 0 && fdv <= INT32_MAX && fdv == static_cast<double>(static_cast<int64_t>(fdv))) ||
        !(sizev >= 0 && sizev <= static_cast<double>(kMaxSafeInteger) && sizev == static_cast<double>(static_cast<int64_t>(sizev))) ||
        !name.IsString()) {
      Napi::TypeError::New(env, "entry " + std::to_string(k) + ": bad fd, size or name").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    e.req.src = static_cast<int>(fdv);
    e.req.size = static_cast<int64_t>(sizev);
    e.req.name = name.As<Napi::String>().Utf8Value();
    if (!ArgName(env, e.req.name)) return env.Undefined();
  }
  return Task<Batch>::Start(
      env, shared.dir,
      [batch](Batch& out, SysError&) mutable {
        for (BatchEntry& e : batch.entries) {
          e.error.path = "fd " + std::to_string(e.req.src);
          Store(e.req, e.result, e.error);
        }
        out = std::move(batch);
      },
      [](Napi::Env env, Batch& b) -> Napi::Value {
        auto list = Napi::Array::New(env, b.entries.size());
        for (uint32_t k = 0; k < b.entries.size(); k++) {
          const BatchEntry& e = b.entries[k];
          if (e.error.failed()) {
            auto o = Napi::Object::New(env);
            o.Set("error", MakeSysError(env, e.error).Value());
            list.Set(k, o);
          } else {
            list.Set(k, ResultValue(env, e.result));
          }
        }
        return list;
      });
}

// Objects whose content the caller holds (small files of a layer tar):
// written into an O_TMPFILE, fs-verity enabled and measured where asked,
// linked under the name given or measured. One call per batch, as above:
// for small contents the crossing costs more than the writing.
struct WriteEntry {
  // The caller's Buffer, kept alive by a reference until the call settles.
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::string name;
  StoreResult result;
  SysError error;
};

struct WriteBatch {
  std::string dir;
  int algorithm = 0;
  int block_size = 4096;
  std::vector<WriteEntry> entries;
};

void WriteOne(const WriteBatch& batch, int dirfd, WriteEntry& e) {
  const int64_t size = static_cast<int64_t>(e.size);
  struct stat existing;
  auto present = [&](const std::string& name) {
    return fstatat(dirfd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(existing.st_mode) && existing.st_size == size;
  };
  if (!e.name.empty() && present(e.name)) return (void)(e.result.status = "exists");
  Fd tmp(openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644));
  if (tmp.fd < 0) return (void)e.error.fail(errno, "open(O_TMPFILE)");
  for (int64_t done = 0; done < size;) {
    ssize_t n = pwrite(tmp.fd, e.data + done, static_cast<size_t>(size - done), done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return (void)e.error.fail(n < 0 ? errno : EIO, "pwrite");
    done += n;
  }
  Fd staged;
  std::string name = e.name;
  if (batch.algorithm != 0) {
    staged.reset(SealTmpfile(tmp, e.error));
    if (staged.fd < 0) return;
    StoreRequest verity;
    verity.algorithm = batch.algorithm;
    verity.block_size = batch.block_size;
    int code = 0;
    if (!EnableAndMeasure(staged.fd, verity, e.result.digest, code)) return (void)e.error.fail(code, "ioctl(FS_IOC_ENABLE_VERITY)");
    std::string measured = Hex(e.result.digest.data(), e.result.digest.size());
    measured.insert(2, "/");
    if (!name.empty() && name != measured) return (void)(e.result.status = "digest-mismatch");
    name = measured;
    if (present(name)) return (void)(e.result.status = "exists");
  } else {
    staged.reset(tmp.fd);
    tmp.fd = -1;
  }
  int code = 0;
  if (LinkObject(staged.fd, dirfd, name, code)) {
    e.result.status = "stored";  // strategy stays null: written, not reflinked, linked or copied
  } else if (code == EEXIST) {
    e.result.status = "exists";
  } else {
    e.error.fail(code, "linkat");
  }
}

// writeObjects(objectsDir, contents, names, algorithm, blockSize)
//   -> Promise<Array<result | { error }>>, one per content, in order
Napi::Value WriteObjects(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WriteBatch batch;
  int64_t algorithm = 0;
  int64_t block = 0;
  if (!ArgPath(info, 0, batch.dir) || info.Length() < 3 || !info[1].IsArray() || !info[2].IsArray() ||
      !ArgWhole(info, 3, 0, 2, algorithm) || !ArgWhole(info, 4, 1024, 65536, block)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "contents and names must be arrays").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  batch.algorithm = static_cast<int>(algorithm);
  batch.block_size = static_cast<int>(block);
  auto contents = info[1].As<Napi::Array>();
  auto names = info[2].As<Napi::Array>();
  uint32_t n = contents.Length();
  if (names.Length() != n || n > 4096) {
    Napi::RangeError::New(env, "contents and names must have the same length (at most 4096)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  batch.entries.resize(n);
  // Released on the main thread with the task; the contents are read in
  // place on the pool thread meanwhile (the caller does not change them).
  auto held = std::make_shared<std::vector<Napi::Reference<Napi::Buffer<uint8_t>>>>();
  held->reserve(n);
  for (uint32_t k = 0; k < n; k++) {
    Napi::Value content = contents.Get(k);
    Napi::Value name = names.Get(k);
    if (!content.IsBuffer() || !name.IsString()) {
      Napi::TypeError::New(env, "entry " + std::to_string(k) + ": content must be a Buffer and name a string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto buffer = content.As<Napi::Buffer<uint8_t>>();
    held->push_back(Napi::Persistent(buffer));
    batch.entries[k].data = buffer.Data();
    batch.entries[k].size = buffer.Length();
    batch.entries[k].name = name.As<Napi::String>().Utf8Value();
    if (!ArgName(env, batch.entries[k].name)) return env.Undefined();
  }
  std::string dir = batch.dir;
  return Task<WriteBatch>::Start(
      env, dir,
      [batch = std::move(batch)](WriteBatch& out, SysError& err) mutable {
        Fd dir(open(batch.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (dir.fd < 0) return (void)err.fail(errno, "open(objects)");
        for (WriteEntry& e : batch.entries) {
          e.error.path = batch.dir;
          WriteOne(batch, dir.fd, e);
        }
        out = std::move(batch);
      },
      [held](Napi::Env env, WriteBatch& b) -> Napi::Value {
        auto list = Napi::Array::New(env, b.entries.size());
        for (uint32_t k = 0; k < b.entries.size(); k++) {
          const WriteEntry& e = b.entries[k];
          if (e.error.failed()) {
            auto o = Napi::Object::New(env);
            o.Set("error", MakeSysError(env, e.error).Value());
            list.Set(k, o);
          } else {
            list.Set(k, ResultValue(env, e.result));
          }
        }
        return list;
      });
}

}  // namespace

void InitStore(Napi::Env env, Napi::Object exports) {
  exports.Set("storeObjects", Napi::Function::New(env, StoreObjects, "storeObjects"));
  exports.Set("writeObjects", Napi::Function::New(env, WriteObjects, "writeObjects"));
}

}  // namespace cfskit
