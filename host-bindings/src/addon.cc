// cfskit_host: the Linux system calls cfskit needs and Node does not offer.
// Each area registers its functions; all of them are asynchronous but
// readXattrs (xattr.cc says why).
#include <napi.h>

namespace cfskit {
void InitVerity(Napi::Env env, Napi::Object exports);
void InitFiles(Napi::Env env, Napi::Object exports);
void InitStat(Napi::Env env, Napi::Object exports);
void InitLock(Napi::Env env, Napi::Object exports);
void InitStore(Napi::Env env, Napi::Object exports);
void InitMount(Napi::Env env, Napi::Object exports);
void InitBeneath(Napi::Env env, Napi::Object exports);
void InitXattr(Napi::Env env, Napi::Object exports);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  cfskit::InitVerity(env, exports);
  cfskit::InitFiles(env, exports);
  cfskit::InitStat(env, exports);
  cfskit::InitLock(env, exports);
  cfskit::InitStore(env, exports);
  cfskit::InitMount(env, exports);
  cfskit::InitBeneath(env, exports);
  cfskit::InitXattr(env, exports);
  return exports;
}

NODE_API_MODULE(cfskit_host, Init)
