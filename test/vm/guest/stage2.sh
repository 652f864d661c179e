#!/bin/sh
# Stage 2, PID 1 on the read-only system image: mount the scratch ext4
# (verity feature) that the tests write to, run uvu over the guest tests
# between the markers the host looks for, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp

fail() {
  echo "cfskit-vm: stage 2: $*"
  poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=1777 tmpfs /tmp
# noinit_itable: no background inode-table zeroing competing with the tests.
mount -t ext4 -o noinit_itable /dev/vdb /mnt/scratch || fail "cannot mount the scratch disk"

# From the host, as base64 on the kernel command line: CI, the seed, the
# test file pattern.
sed -n 's/.*cfskit\.env=\([^ ]*\).*/\1/p' /proc/cmdline | base64 -d > /tmp/cfskit-vm.env
. /tmp/cfskit-vm.env
# Without a pattern uvu would load every .js here, the host's harness too.
[ -n "$CFSKIT_VM_PATTERN" ] || fail "no cfskit.env= with CFSKIT_VM_PATTERN on the kernel command line"
export CFSKIT_VM_SCRATCH=/mnt/scratch CFSKIT_VM_SCRATCH_DEV=/dev/vdb

cd /cfskit || fail "no /cfskit"
echo "cfskit-vm: kernel $(uname -r), tests start at $(cut -d' ' -f1 /proc/uptime) s"
# Tests corrupt verity files on purpose: keep the kernel's reports of
# that off the console the test output travels on (dmesg still has them).
echo 1 > /proc/sys/kernel/printk
echo "@@cfskit-vm:begin@@"
node node_modules/uvu/bin.js dist/test/vm "$CFSKIT_VM_PATTERN"
status=$?
# A line of its own even if the test output did not end with a newline.
printf "\n@@cfskit-vm:end status=%d@@\n" "$status"
echo "cfskit-vm: tests done at $(cut -d' ' -f1 /proc/uptime) s"
umount /mnt/scratch
# Let the serial port drain before the machine goes away.
sleep 0.3
poweroff -f
