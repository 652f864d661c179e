// cfskit_host: the Linux system calls cfskit needs and Node does not offer.
// Each area registers its functions; all of them are asynchronous.
#include <napi.h>

namespace cfskit {
void InitVerity(Napi::Env env, Napi::Object exports);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  cfskit::InitVerity(env, exports);
  return exports;
}

NODE_API_MODULE(cfskit_host, Init)
