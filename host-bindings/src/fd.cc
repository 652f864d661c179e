#include "fd.h"

#include <errno.h>
#include <fcntl.h>

namespace cfskit {

std::string FdName(int fd) { return "fd " + std::to_string(fd); }

std::string ProcFdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

int OpenTarget(const Target& target, int flags, SysError& err) {
  if (target.fd >= 0) return target.fd;
  int fd = open(target.path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) err.fail(errno, "open");
  return fd;
}

void CloseTarget(const Target& target, int fd) {
  if (target.fd < 0 && fd >= 0) close(fd);
}

}  // namespace cfskit
