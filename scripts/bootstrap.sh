#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs what the build and the VMs need, and nothing when it is all there.
# Idempotent: `make` runs it through a stamp, and it is cheap to run again.
set -euo pipefail

BINDGEN_VERSION=0.71.1

step() { printf '  %-8s %s\n' BOOT "$*"; }
die() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

# Debian packages, by the file each one must provide.
declare -A pkgs=(
	[/usr/bin/clang]=clang
	[/usr/bin/ld.lld]=lld
	[/usr/bin/llvm-ar]=llvm
	[/usr/lib/llvm-14/lib/libclang.so]=libclang-dev
	[/usr/bin/flex]=flex
	[/usr/bin/bison]=bison
	[/usr/bin/bc]=bc
	[/usr/include/libelf.h]=libelf-dev
	[/usr/include/openssl/ssl.h]=libssl-dev
	[/usr/bin/qemu-system-x86_64]=qemu-system-x86
	[/usr/bin/cpio]=cpio
	[/bin/busybox]=busybox-static
	[/usr/bin/ip]=iproute2
	[/usr/bin/iperf3]=iperf3
	[/usr/sbin/ethtool]=ethtool
	[/usr/bin/trace-cmd]=trace-cmd
	[/usr/bin/xz]=xz-utils
	[/usr/bin/gzip]=gzip
	[/usr/bin/make]=make
	[/usr/bin/gcc]=gcc
	[/usr/lib/x86_64-linux-gnu/libc.a]=libc6-dev
	[/usr/bin/python3]=python3
	[/usr/bin/timeout]=coreutils
	[/usr/bin/setsid]=util-linux
	[/usr/sbin/depmod]=kmod
	[/usr/src/linux-source-6.12.tar.xz]=linux-source-6.12
	[/usr/bin/patch]=patch # build-kernel.sh: selftests/patches.VARIANT
	[/usr/sbin/dkms]=dkms
	# The project's QEMU (scripts/build-qemu.sh: the Switchtec model).
	[/usr/bin/dpkg-source]=dpkg-dev
	[/usr/bin/meson]=meson
	[/usr/bin/ninja]=ninja-build
	[/usr/bin/pkg-config]=pkg-config
	[/usr/include/glib-2.0/glib.h]=libglib2.0-dev
	[/usr/include/pixman-1/pixman.h]=libpixman-1-dev
	[/usr/include/libfdt.h]=libfdt-dev
	[/usr/share/seabios/bios-256k.bin]=seabios
	[/lib/systemd/systemd-networkd]=systemd
)
missing=()
for f in "${!pkgs[@]}"; do
	[ -e "$f" ] || missing+=("${pkgs[$f]}")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "apt-get install ${missing[*]}"
	[ "$(id -u)" = 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 ${SUDO:-} apt-get update -qq ||
		die "apt-get update failed (step: Debian packages)"
	timeout 1200 ${SUDO:-} apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed (step: Debian packages)"
fi

# Debian's sources (`apt-get source qemu`): the same mirror, Types: deb-src.
if [ -z "$(apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p')" ]; then
	src=/etc/apt/sources.list.d/debian.sources
	[ -f "$src" ] || die "no $src to derive a deb-src entry from (step: deb-src)"
	step "deb-src entry for apt-get source"
	[ "$(id -u)" = 0 ] || SUDO=sudo
	sed 's/^Types: deb$/Types: deb-src/' "$src" | ${SUDO:-} tee /etc/apt/sources.list.d/ntbnet-deb-src.sources > /dev/null
	timeout 600 ${SUDO:-} apt-get update -qq ||
		die "apt-get update failed (step: deb-src)"
fi

command -v rustc >/dev/null || die "no rustc: install the rustup stable toolchain first (step: Rust toolchain)"
if ! [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library/core" ]; then
	step "rustup component add rust-src"
	timeout 600 rustup component add rust-src ||
		die "rustup component add rust-src failed (step: Rust toolchain)"
fi

cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
if ! "$cargo_bin/bindgen" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	step "cargo install bindgen-cli $BINDGEN_VERSION"
	timeout 1200 cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli failed (step: bindgen)"
fi
# Debian packages the host tests take files from without installing them
# (selftests/host/): downloaded once into the cache, outside the clone.
# - linux-headers-<version>-amd64: Debian's own 6.12 amd64 config, the one
#   `make hw-kernel-config` is tested on, for the linux-source-6.12 in use;
# - ifupdown and udev: `ifup --no-act` and `udevadm` check the example
#   network configuration files of Documentation/examples/.
cache=${NTBNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ntbnet}
download() {
	ls "$cache"/debs/"$1"_*.deb >/dev/null 2>&1 && return 0
	step "apt-get download $1"
	mkdir -p "$cache/debs"
	(cd "$cache/debs" && timeout 600 apt-get download -q "$1" 2>&1 | grep -v unsandboxed >&2)
	ls "$cache"/debs/"$1"_*.deb >/dev/null 2>&1 || die "apt-get download $1 failed (step: $2)"
}
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
if ! ls "$cache"/debs/linux-headers-"${srcver%%-*}"+*-amd64_*.deb >/dev/null 2>&1; then
	pkg=$(apt-cache search --names-only "^linux-headers-${srcver%%-*}\\+deb[0-9]+-amd64\$" | awk '{ print $1; exit }')
	[ -n "$pkg" ] || die "no linux-headers-${srcver%%-*}+debN-amd64 package in the archive (step: Debian config)"
	download "$pkg" "Debian config"
fi
download ifupdown "example files"
download udev "example files"
exit 0
