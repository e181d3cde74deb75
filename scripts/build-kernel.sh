#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the test kernel (Debian's linux-source-6.12, tinyconfig plus
# selftests/config, LLVM=1, CONFIG_RUST=y) into a cache outside the clone,
# keyed by the source version, the config fragment and the toolchain. Prints
# the build directory (a KDIR for out-of-tree modules) on stdout. A warm run
# only computes the key. With --print it builds nothing and fails when the
# kernel for the current key is not built.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${NTBNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ntbnet}
tarball=/usr/src/linux-source-6.12.tar.xz
jobs=${JOBS:-$(nproc)}
export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH

log() { printf '  %-8s %s\n' KERNEL "$*" >&2; }
die() { printf 'build-kernel: %s\n' "$*" >&2; exit 1; }

[ -f "$tarball" ] || die "$tarball missing: run scripts/bootstrap.sh (step: kernel source)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || stat -c %Y "$tarball")
key=$( {
	echo "recipe 1"
	echo "$srcver"
	cat "$top/selftests/config"
	rustc --version
	clang --version | head -n1
	bindgen --version
} | sha256sum | cut -c1-12)
kdir=$cache/kernel-$srcver-$key
src=$cache/src-$srcver

if [ -f "$kdir/.ntbnet-built" ]; then
	echo "$kdir"
	exit 0
fi
# --print: only say where the kernel is; fail if it is not built.
[ "${1:-}" != --print ] || exit 1
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 3600 9 || die "timed out waiting for another kernel build (step: kernel lock)"
if [ -f "$kdir/.ntbnet-built" ]; then
	echo "$kdir"
	exit 0
fi

if [ ! -f "$src/.ntbnet-extracted" ]; then
	log "extracting $tarball into $src"
	rm -rf "$src" && mkdir -p "$src"
	tar -xJf "$tarball" -C "$src" --strip-components=1 ||
		die "cannot extract $tarball (step: kernel source)"
	touch "$src/.ntbnet-extracted"
fi

mk() { make -s -C "$src" O="$kdir" LLVM=1 "$@"; }
log "configuring $kdir (tinyconfig + selftests/config)"
rm -rf "$kdir" && mkdir -p "$kdir"
mk rustavailable >&2 || die "the Rust toolchain is not usable for this kernel (step: make rustavailable)"
mk tinyconfig >&2 || die "make tinyconfig failed (step: kernel config)"
(cd "$kdir" && "$src/scripts/kconfig/merge_config.sh" -m -O "$kdir" "$kdir/.config" "$top/selftests/config") >/dev/null ||
	die "merge_config.sh failed (step: kernel config)"
mk olddefconfig >&2 || die "make olddefconfig failed (step: kernel config)"

# Every option the fragment asks for must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}; grep -q "^$opt=" "$kdir/.config" && { echo "  $line: got $(grep "^$opt=" "$kdir/.config")" >&2; bad=1; } ;;
	CONFIG_*) grep -qx "$line" "$kdir/.config" || { echo "  $line: got $(grep "^${line%%=*}[= ]" "$kdir/.config" || echo unset)" >&2; bad=1; } ;;
	esac
done < "$top/selftests/config"
[ $bad = 0 ] || die "selftests/config options not honoured, see above (step: kernel config)"

log "building bzImage and modules with $jobs jobs (about 10 minutes on 2 cores)"
if ! mk -j"$jobs" bzImage modules > "$kdir/build.log" 2>&1; then
	tail -n 40 "$kdir/build.log" >&2
	die "kernel build failed, log in $kdir/build.log (step: kernel build)"
fi
touch "$kdir/.ntbnet-built"
ln -sfn "$(basename "$kdir")" "$cache/kernel-latest"
echo "$kdir"
