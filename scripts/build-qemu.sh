#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-qemu.sh [--print]
#
# Builds the project's QEMU: Debian's own QEMU source package (`apt-get
# source qemu`), x86_64-softmmu only, with the Switchtec NTB model of
# hw/switchtec/ added to its hw/ tree (device `switchtec-ntb`, Kconfig
# symbol SWITCHTEC_NTB). The binary is cached outside the clone, keyed by
# the Debian source version and a hash of hw/switchtec/ and this script;
# a warm run only computes the key. Prints the path of the binary on
# stdout. With --print it builds nothing and fails when the binary for the
# current key is not built.
#
# The unpacked source and its build directory stay in the cache too, so a
# change to the model rebuilds in seconds, not minutes. Run the binary with
# `-L /usr/share/seabios -L /usr/share/qemu` (the +dfsg source has no
# firmware).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${NTBNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ntbnet}
jobs=${JOBS:-$(nproc)}

log() { printf '  %-8s %s\n' QEMU "$*" >&2; }
die() { printf 'build-qemu: %s\n' "$*" >&2; exit 1; }

print=
case "${1:-}" in
--print) print=1 ;;
"") ;;
*) die "unknown argument $1" ;;
esac

model=$top/hw/switchtec
[ -d "$model" ] || die "$model missing"
# The Debian source version apt would fetch; needs the deb-src entry that
# scripts/bootstrap.sh adds.
srcver=$(apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n 1)
[ -n "$srcver" ] || die "no source package for qemu: run scripts/bootstrap.sh (step: deb-src)"
key=$( {
	echo "recipe 1"
	echo "$srcver"
	cat "$0"
	(cd "$model" && find . -type f | LC_ALL=C sort | xargs sha256sum)
} | sha256sum | cut -c1-12)
ver=${srcver#*:}
out=$cache/qemu-$ver-$key

if [ -f "$out/.ntbnet-built" ]; then
	echo "$out/qemu-system-x86_64"
	exit 0
fi
[ -z "$print" ] || exit 1
mkdir -p "$cache"
exec 9>"$cache/.qemu-lock"
flock -w 1800 9 || die "timed out waiting for another QEMU build (step: QEMU lock)"
if [ -f "$out/.ntbnet-built" ]; then
	echo "$out/qemu-system-x86_64"
	exit 0
fi

src=$cache/qemu-src-$ver
if [ ! -f "$src/.ntbnet-extracted" ]; then
	log "apt-get source qemu ($srcver)"
	rm -rf "$src" "$src.dl"
	mkdir -p "$src.dl"
	(cd "$src.dl" && timeout 900 apt-get source -qq --download-only "qemu=$srcver") >&2 ||
		die "apt-get source qemu failed (step: QEMU source)"
	(cd "$src.dl" && dpkg-source -x ./*.dsc tree) > /dev/null ||
		die "dpkg-source -x failed (step: QEMU source)"
	mv "$src.dl/tree" "$src"
	rm -rf "$src.dl"
	# The model's place in QEMU's tree: a folder of its own with a
	# Kconfig symbol, selected by default wherever PCI is.
	cat >> "$src/hw/Kconfig" <<'KCONFIG'
source switchtec/Kconfig
KCONFIG
	sed -i "/^subdir('misc')/a subdir('switchtec')" "$src/hw/meson.build"
	grep -q "subdir('switchtec')" "$src/hw/meson.build" || die "cannot hook hw/switchtec into meson (step: QEMU source)"
	touch "$src/.ntbnet-extracted"
fi

# The model's sources replace whatever an earlier key left there.
rm -rf "$src/hw/switchtec"
cp -r "$model" "$src/hw/switchtec"

if [ ! -f "$src/build/build.ninja" ]; then
	log "configure (x86_64-softmmu)"
	rm -rf "$src/build" && mkdir -p "$src/build"
	(cd "$src/build" && ../configure --target-list=x86_64-softmmu --without-default-features \
		--enable-tcg --enable-kvm --disable-docs --disable-werror --enable-fdt=system \
		--disable-slirp) > "$src/build/configure.log" 2>&1 ||
		{ tail -n 30 "$src/build/configure.log" >&2; die "configure failed (step: QEMU configure)"; }
fi
log "ninja qemu-system-x86_64 (about 3 minutes from cold on 2 cores)"
(cd "$src/build" && nice -n 10 ninja -j"$jobs" qemu-system-x86_64) > "$src/build/ninja.log" 2>&1 ||
	{ grep -B2 -A12 -m3 'error' "$src/build/ninja.log" >&2 || tail -n 40 "$src/build/ninja.log" >&2
	  die "ninja failed (step: QEMU build)"; }
"$src/build/qemu-system-x86_64" -device help 2>/dev/null | grep -q '"switchtec-ntb"' ||
	die "the built QEMU has no switchtec-ntb device (step: QEMU build)"

rm -rf "$out.tmp" && mkdir -p "$out.tmp"
cp "$src/build/qemu-system-x86_64" "$out.tmp/"
touch "$out.tmp/.ntbnet-built"
rm -rf "$out" && mv "$out.tmp" "$out"
# Keep only the binaries of the last few keys.
ls -dt "$cache"/qemu-"$ver"-*/ 2>/dev/null | tail -n +6 | xargs -r rm -rf
echo "$out/qemu-system-x86_64"
