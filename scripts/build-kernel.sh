#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh [--variant NAME] [--print]
#
# Builds a test kernel (Debian's linux-source-6.12, tinyconfig plus the
# config fragments, LLVM=1, CONFIG_RUST=y) into a cache outside the clone,
# keyed by the source version, the options the fragments set and the
# toolchain. Prints the build directory (a KDIR for out-of-tree modules) on
# stdout. A warm run only computes the key. With --print it builds nothing
# and fails when the kernel for the current key is not built.
#
# Fragments, merged in this order: scripts/ntbnet.config (what ntbnet needs
# on any kernel, when present), selftests/config (the VM platform), and for
# a variant selftests/config.NAME (for example `debug`). The key hashes the
# sorted option lines, not the files, so moving an option between fragments
# or editing comments does not rebuild anything.
#
# Kernel patches: a variant may carry fixes to the kernel's own code in
# selftests/patches.NAME/*.patch (`git format-patch` files, for now only
# `debug`: see Documentation/testing.md, "The debug kernel"). They are
# applied in name order with `patch -p1 --forward` to a patched copy of the
# source, $cache/src-VERSION-pHASH (hard links to the pristine tree; GNU
# patch writes each patched file anew, which breaks the link, and this is
# checked), never to the pristine tree, which the other kernels build from.
# HASH covers each patch's diff, not its commit message, and joins that
# variant's key; a variant without patches keeps the key it always had.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${NTBNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ntbnet}
tarball=/usr/src/linux-source-6.12.tar.xz
jobs=${JOBS:-$(nproc)}
export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH

log() { printf '  %-8s %s\n' KERNEL "$*" >&2; }
die() { printf 'build-kernel: %s\n' "$*" >&2; exit 1; }

variant= print=
while [ $# -gt 0 ]; do
	case "$1" in
	--variant) variant=${2:?--variant needs a name}; shift 2 ;;
	--print) print=1; shift ;;
	*) die "unknown argument $1" ;;
	esac
done
fragments=()
[ ! -f "$top/scripts/ntbnet.config" ] || fragments+=("$top/scripts/ntbnet.config")
fragments+=("$top/selftests/config")
if [ -n "$variant" ]; then
	[ -f "$top/selftests/config.$variant" ] || die "no fragment selftests/config.$variant (step: kernel config)"
	fragments+=("$top/selftests/config.$variant")
fi
# The options the fragments set, one per line, sorted, a later fragment's
# setting winning over an earlier one's (as in merge_config.sh): the cache
# key, and what the built .config must show.
options() {
	awk '/^CONFIG_/ { n = $0; sub(/=.*/, "", n); o[n] = $0 }
	     /^# CONFIG_.* is not set/ { o[$2] = $0 }
	     END { for (n in o) print o[n] }' "${fragments[@]}" | sort
}

patches=()
if [ -n "$variant" ] && [ -d "$top/selftests/patches.$variant" ]; then
	while IFS= read -r -d '' p; do patches+=("$p"); done < <(
		find "$top/selftests/patches.$variant" -maxdepth 1 -name '*.patch' -print0 | LC_ALL=C sort -z)
fi
# What a patch changes: its lines from the first `diff --git` up to the
# signature separator (`-- `) that git format-patch ends it with, so that
# rewording a commit message or a note does not rebuild the kernel.
patch_body() { awk '/^diff --git / { d = 1 } d && /^-- $/ { exit } d' "$1"; }
phash=
if [ ${#patches[@]} -gt 0 ]; then
	for p in "${patches[@]}"; do
		[ -n "$(patch_body "$p")" ] || die "${p#$top/} has no diff (step: kernel patches)"
	done
	phash=$(for p in "${patches[@]}"; do patch_body "$p"; done | sha256sum | cut -c1-12)
fi

[ -f "$tarball" ] || die "$tarball missing: run scripts/bootstrap.sh (step: kernel source)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || stat -c %Y "$tarball")
key=$( {
	echo "recipe 2"
	echo "$srcver"
	options
	rustc --version
	clang --version | head -n1
	bindgen --version
	[ -z "$phash" ] || echo "patches $phash"
} | sha256sum | cut -c1-12)
kdir=$cache/kernel-${variant:+$variant-}$srcver-$key
pristine=$cache/src-$srcver
src=$pristine${phash:+-p$phash}

if [ -f "$kdir/.ntbnet-built" ]; then
	echo "$kdir"
	exit 0
fi
# --print: only say where the kernel is; fail if it is not built.
[ -z "$print" ] || exit 1
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 3600 9 || die "timed out waiting for another kernel build (step: kernel lock)"
if [ -f "$kdir/.ntbnet-built" ]; then
	echo "$kdir"
	exit 0
fi

if [ ! -f "$pristine/.ntbnet-extracted" ]; then
	log "extracting $tarball into $pristine"
	rm -rf "$pristine" && mkdir -p "$pristine"
	tar -xJf "$tarball" -C "$pristine" --strip-components=1 ||
		die "cannot extract $tarball (step: kernel source)"
	touch "$pristine/.ntbnet-extracted"
fi

# The patched tree: hard links to the pristine one, each patch applied in
# name order. It is made aside and renamed when complete, so a tree with
# the marker is always the whole series.
if [ -n "$phash" ] && [ ! -f "$src/.ntbnet-patched" ]; then
	log "applying ${#patches[@]} patch(es) from selftests/patches.$variant into $src"
	rm -rf "$src" "$src.tmp"
	cp -al "$pristine" "$src.tmp" || die "cannot copy $pristine (step: kernel patches)"
	rm -f "$src.tmp/.ntbnet-extracted"
	for p in "${patches[@]}"; do
		log "  ${p##*/}"
		patch -p1 --forward --batch --no-backup-if-mismatch -d "$src.tmp" -i "$p" >&2 ||
			die "${p#$top/} does not apply to linux-source $srcver (patch says why above; the half-patched copy is $src.tmp) (step: kernel patches)"
		# The file patch wrote must be its own, not still a link to the
		# pristine tree's copy (which would then have been changed too).
		for f in $(awk '/^\+\+\+ b\// { print substr($2, 3) }' "$p"); do
			[ ! -e "$src.tmp/$f" ] || [ "$(stat -c %h "$src.tmp/$f")" = 1 ] ||
				die "patching left $f linked to the pristine tree (step: kernel patches)"
		done
	done
	printf '%s\n' "${patches[@]##*/}" > "$src.tmp/.ntbnet-patched"
	mv "$src.tmp" "$src"
fi

mk() { make -s -C "$src" O="$kdir" LLVM=1 "$@"; }
# A tree without the completion marker is a build that was interrupted (or
# failed). Once configured (`.ntbnet-configured`, written when the checked
# configuration is in place) it is resumed: kbuild rebuilds every target
# whose command file (.*.cmd, written only after its command succeeded) is
# missing or differs, so a half-written object of a killed build is built
# again, and the objects that were finished are kept. An unconfigured tree
# starts over.
if [ -f "$kdir/.ntbnet-configured" ] && [ -f "$kdir/.config" ]; then
	log "resuming the interrupted build in $kdir"
else
	log "configuring $kdir (tinyconfig + ${fragments[*]#$top/})"
	rm -rf "$kdir" && mkdir -p "$kdir"
	mk rustavailable >&2 || die "the Rust toolchain is not usable for this kernel (step: make rustavailable)"
	mk tinyconfig >&2 || die "make tinyconfig failed (step: kernel config)"
	(cd "$kdir" && "$src/scripts/kconfig/merge_config.sh" -m -O "$kdir" "$kdir/.config" "${fragments[@]}") >/dev/null ||
		die "merge_config.sh failed (step: kernel config)"
	mk olddefconfig >&2 || die "make olddefconfig failed (step: kernel config)"

	# Every option the fragment asks for must have survived olddefconfig.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *}; grep -q "^$opt=" "$kdir/.config" && { echo "  $line: got $(grep "^$opt=" "$kdir/.config")" >&2; bad=1; } ;;
		CONFIG_*=n) opt=${line%%=*}; grep -q "^$opt=" "$kdir/.config" && { echo "  $line: got $(grep "^$opt=" "$kdir/.config")" >&2; bad=1; } ;;
		CONFIG_*) grep -qx "$line" "$kdir/.config" || { echo "  $line: got $(grep "^${line%%=*}[= ]" "$kdir/.config" || echo unset)" >&2; bad=1; } ;;
		esac
	done < <(options)
	[ $bad = 0 ] || die "config fragment options not honoured, see above (step: kernel config)"
	touch "$kdir/.ntbnet-configured"
fi

log "building bzImage and modules with $jobs jobs (about 10 minutes on 2 cores)"
if ! mk -j"$jobs" bzImage modules > "$kdir/build.log" 2>&1; then
	tail -n 40 "$kdir/build.log" >&2
	die "kernel build failed, log in $kdir/build.log (step: kernel build)"
fi
touch "$kdir/.ntbnet-built"
ln -sfn "$(basename "$kdir")" "$cache/kernel-${variant:+$variant-}latest"
echo "$kdir"
