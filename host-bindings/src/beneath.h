// Resolving paths beneath a directory descriptor without ever leaving it:
// openat2(2) with RESOLVE_BENEATH (no "..", no absolute symlink out) and,
// unless the caller allows them, RESOLVE_NO_SYMLINKS; where the kernel has
// no openat2 (before 5.6, or a seccomp filter without it) an equivalent
// walk, one component at a time with O_NOFOLLOW. Every create, link and
// rename inside a repository resolves its parent directory this way.
#pragma once

#include <sys/types.h>

#include <string>

#include "task.h"

namespace cfskit {

// Opens `rel` (relative; "" or "." is the directory itself) beneath
// `dirfd` with `flags` and `mode`. `symlinks`: follow symlinks that stay
// beneath (a layer's diff/), else any symlink on the way is an error
// (ELOOP). Returns the fd, or -1 with `err` set.
int OpenBeneath(int dirfd, const std::string& rel, int flags, mode_t mode, bool symlinks, SysError& err);

// The parent directory of `rel` beneath `dirfd` (O_PATH, symlinks refused)
// and `rel`'s last component, for the *at calls.
int OpenParentBeneath(int dirfd, const std::string& rel, std::string& last, SysError& err);

}  // namespace cfskit
