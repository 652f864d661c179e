// The fs-verity ioctls, for verity.cc's functions and the object store.
#pragma once

#include <stdint.h>

#include <vector>

namespace cfskit {

// FS_IOC_ENABLE_VERITY on `fd` (no writer may be open); 0 or the errno.
int EnableVerityFd(int fd, uint32_t algorithm, uint32_t block_size);
// FS_IOC_MEASURE_VERITY: the kernel's algorithm id and digest; 0 or the errno.
int MeasureVerityFd(int fd, uint16_t& algorithm, std::vector<uint8_t>& digest);

}  // namespace cfskit
