#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh KDIR OUT MODULE.ko...
#
# The VMs' root file system: busybox, the real iproute2 (ip, ip netns, tc),
# iperf3 and ethtool with their shared libraries, the given modules under
# /lib/modules/<release>/extra with modules.dep, and selftests/init.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kdir=$1 out=$2
shift 2
die() { printf 'mkinitramfs: %s\n' "$*" >&2; exit 1; }

release=$(cat "$kdir/include/config/kernel.release") || die "no kernel.release in $kdir (step: initramfs)"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,var/run,lib/modules/"$release"/extra}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# Real tools, by full path, with every shared library they load; the
# benchmark adds its own (INITRAMFS_TOOLS: perf, sockperf).
tools=(/usr/bin/ip /usr/sbin/tc /usr/bin/iperf3 /usr/sbin/ethtool /usr/bin/ss /usr/bin/trace-cmd)
# shellcheck disable=SC2206 # a list of paths
tools+=(${INITRAMFS_TOOLS:-})
for t in "${tools[@]}"; do
	[ -x "$t" ] || die "$t missing: run scripts/bootstrap.sh (step: initramfs)"
	mkdir -p "$root/$(dirname "$t")"
	cp -L "$t" "$root/$t"
	ldd "$t" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$root/$(dirname "$lib")"
		cp -Ln "$lib" "$root/$lib"
	done
done
# iproute2 reads its tables from here; iperf3 needs a writable /tmp.
[ -d /usr/share/iproute2 ] && mkdir -p "$root/usr/share" && cp -r /usr/share/iproute2 "$root/usr/share/"
[ -d /etc/iproute2 ] && cp -r /etc/iproute2 "$root/etc/"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
printf '127.0.0.1 localhost\n' > "$root/etc/hosts"

for ko in "$@"; do
	cp "$ko" "$root/lib/modules/$release/extra/"
done
touch "$root/lib/modules/$release/"{modules.order,modules.builtin,modules.builtin.modinfo}
depmod -b "$root" "$release" || die "depmod failed (step: initramfs)"

install -m 0755 "$top/selftests/init" "$root/init"

(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
