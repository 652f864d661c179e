#!/bin/sh
# Stage 1, the initramfs's /init: load the drivers the cloud kernel has as
# modules (virtio disks, sha512 for fs-verity, virtio-rng so Node's
# getrandom never waits, loop/erofs/overlay for composefs mounts; whichever
# are not built in), mount the system image read-only and hand over to its
# stage 2. On any failure, say why and power off: the host then reports
# a guest that printed no test output, without waiting for its timeout.
export PATH=/bin

fail() {
  echo "cfskit-vm: stage 1: $*"
  poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# /modules lists the .ko files in load order (dependencies first).
while read -r module; do
  insmod "/lib/modules/$module.ko" || fail "insmod $module failed"
done < /modules

# Disks appear asynchronously once virtio_blk is in.
tries=0
until [ -b /dev/vda ] && [ -b /dev/vdb ]; do
  tries=$((tries + 1))
  [ "$tries" -gt 100 ] && fail "virtio disks did not appear: $(ls /dev)"
  sleep 0.1
done

mount -t ext4 -o ro /dev/vda /newroot || fail "cannot mount the system image"
echo "cfskit-vm: stage 1 done at $(cut -d' ' -f1 /proc/uptime) s"
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/cfskit-stage2
