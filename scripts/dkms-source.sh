#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-source.sh [DEST] [TESTBED]: copies what DKMS needs to build ntbnet
# (dkms.conf, Kbuild, Makefile, LICENSE, src/, net/, hw/; no build output,
# no host-side crates) into DEST/ntbnet-VERSION (DEST defaults to /usr/src,
# VERSION is dkms.conf's PACKAGE_VERSION) and prints that directory. With
# TESTBED=1 the DKMS package builds the test-bed drivers too.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-/usr/src}
testbed=${2:-0}
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
[ -n "$ver" ] || { echo "dkms-source: no PACKAGE_VERSION in dkms.conf" >&2; exit 1; }
dir=$dest/ntbnet-$ver
rm -rf "$dir" && mkdir -p "$dir"
(cd "$top" && tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.cmd' --exclude='*.mod*' \
	--exclude='target' --exclude='server' --exclude='fuzz' --exclude='tests' \
	--exclude='bindings_generated.rs' --exclude='bindings_wrappers.c' \
	dkms.conf Kbuild Makefile LICENSE src net hw) | tar -xf - -C "$dir"
case "$testbed" in
1) sed -i 's/^NTBNET_TESTBED=0$/NTBNET_TESTBED=1/' "$dir/dkms.conf" ;;
0|"") ;;
*) echo "dkms-source: TESTBED is 0 or 1" >&2; exit 1 ;;
esac
echo "$dir"
