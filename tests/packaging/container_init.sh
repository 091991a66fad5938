#!/bin/sh
# Boots systemd as PID 1 of a throw-away container made of this machine's
# own root, for test_systemd.py.  Run as PID 1 of new pid, mount, uts, ipc
# and cgroup namespaces (unshare --fork), inside a cgroup of its own:
#
#   container_init.sh SCRATCH CTEST
#
# SCRATCH gets a tmpfs holding an overlay whose lower layer is / and whose
# upper layer is that tmpfs, so nothing the container writes reaches this
# machine's disk; CTEST is bind-mounted at /ctest (the package, the test
# IdP, the driver, and the results the driver writes).  /proc, /sys, /run
# and /tmp are fresh, /dev is this machine's, the cgroup file systems are
# mounted from inside the cgroup namespace (so the container sees its own
# cgroup as the root).  The network is the host's: loopback only is used.
# systemd starts ctest.target: basic.target and ctest.service, whose
# ExecStart= is the driver and whose ExecStopPost= powers the container
# off, which ends it.
set -eu
scratch=$1
ctest=$2

mkdir -p "$scratch"
mount -t tmpfs -o mode=0755 tmpfs "$scratch"
mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
mount -t overlay overlay \
    -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" \
    "$scratch/root"
r=$scratch/root
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount -t tmpfs -o mode=0755 tmpfs "$r/sys/fs/cgroup"
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
else
	mkdir "$r/sys/fs/cgroup/systemd"
	mount -t cgroup -o none,name=systemd cgroup "$r/sys/fs/cgroup/systemd"
	if [ -d /sys/fs/cgroup/unified ]; then
		mkdir "$r/sys/fs/cgroup/unified"
		mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup/unified"
	fi
fi
mount --rbind /dev "$r/dev"
mount -t tmpfs -o mode=0755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
mkdir -p "$r/ctest"
mount --bind "$ctest" "$r/ctest"
mkdir -p "$r/etc/systemd/system"
cp "$ctest/ctest.target" "$ctest/ctest.service" "$r/etc/systemd/system/"
echo todod-ctest >"$r/etc/hostname"
rm -f "$r/etc/machine-id"
: >"$r/etc/machine-id"
cd "$r"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
exec env container=todod-ctest /lib/systemd/systemd --unit=ctest.target \
    --show-status=no --log-target=console
