#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-headers-rust.sh KBUILD HEADERS
#
# Adds what building an out-of-tree Rust module needs to a kernel headers
# tree: 6.12's `make bindeb-pkg` (scripts/package/install-extmod-build)
# puts C headers, scripts and Module.symvers into linux-headers-<version>,
# but not the Rust crates' metadata, so ntbnet (and DKMS) cannot build
# against /lib/modules/<version>/build. This copies from the kernel's build
# directory KBUILD (the O= of the kernel build) into HEADERS
# (/usr/src/linux-headers-<version>): rust/*.rmeta and rust/libmacros.so,
# and the source tree's rust/bindgen_parameters.
set -euo pipefail
die() { printf 'kernel-headers-rust: %s\n' "$*" >&2; exit 1; }
[ $# = 2 ] || die "usage: $0 KBUILD HEADERS (e.g. build/hw-kernel /usr/src/linux-headers-\$(uname -r))"
kbuild=$1 headers=$2
[ -f "$kbuild/rust/libkernel.rmeta" ] || die "$kbuild has no rust/libkernel.rmeta: not the build directory of a kernel built with CONFIG_RUST"
[ -f "$headers/include/config/kernel.release" ] || die "$headers is not a kernel headers tree (no include/config/kernel.release)"
a=$(cat "$kbuild/include/config/kernel.release") b=$(cat "$headers/include/config/kernel.release")
[ "$a" = "$b" ] || die "$kbuild is kernel $a, $headers kernel $b"
src=$kbuild/source
[ -f "$src/rust/bindgen_parameters" ] || src=$kbuild
[ -f "$src/rust/bindgen_parameters" ] || die "no rust/bindgen_parameters in $kbuild or its source tree"
mkdir -p "$headers/rust"
cp "$kbuild"/rust/*.rmeta "$kbuild"/rust/libmacros.so "$src/rust/bindgen_parameters" "$headers/rust/"
echo "kernel-headers-rust: $headers can now build Rust modules for $b"
