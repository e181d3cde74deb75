#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# hw-kernel-config.sh CONFIG [OUT]
#
# A kernel config for real hardware that can load ntbnet, made from a
# distribution's own config (`make hw-kernel-config CONFIG=/boot/config-...`):
#
#  1. checks the toolchain against the kernel's requirements
#     (scripts/min-tool-version.sh, `make rustavailable`) and says what to
#     install when something is missing or too old;
#  2. merges CONFIG, scripts/ntbnet.config (what ntbnet needs, shared with
#     the test kernel) and the changes Rust forces on a distribution config
#     (below) with the kernel's scripts/kconfig/merge_config.sh, then runs
#     `make olddefconfig LLVM=1`;
#  3. fails unless every option asked for survived, and says what changed.
#
# OUT (default build/hw-kernel) becomes the kernel's build directory (O=)
# with the merged .config; the script prints the command that builds and
# packages the kernel from there.
#
# Environment: KSRC, a 6.12 kernel source tree (default: Debian's
# linux-source-6.12, extracted into the cache as scripts/build-kernel.sh
# does); LLVM, the kernel's LLVM= (default 1; `LLVM=-19` for clang-19);
# BTF=keep keeps DEBUG_INFO_BTF (needs pahole >= 1.22, see below).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${NTBNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ntbnet}
export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH
llvm=${LLVM:-1}

say() { printf 'hw-kernel-config: %s\n' "$*"; }
die() { printf 'hw-kernel-config: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 CONFIG [OUT] (for example /boot/config-\$(uname -r))"
config=$1
out=${2:-$top/build/hw-kernel}
[ -f "$config" ] || die "$config: no such file (the distribution's kernel config, for example /boot/config-\$(uname -r))"
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")

# --- The kernel source --------------------------------------------------------
if [ -z "${KSRC:-}" ]; then
	tarball=/usr/src/linux-source-6.12.tar.xz
	[ -f "$tarball" ] || die "no KSRC given and no $tarball: apt-get install linux-source-6.12, or KSRC=/path/to/linux-6.12"
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || stat -c %Y "$tarball")
	KSRC=$cache/src-$srcver
	if [ ! -f "$KSRC/.ntbnet-extracted" ]; then
		mkdir -p "$cache"
		exec 9>"$cache/.lock"
		flock -w 3600 9 || die "timed out waiting for the kernel build lock"
		if [ ! -f "$KSRC/.ntbnet-extracted" ]; then
			say "extracting $tarball into $KSRC"
			rm -rf "$KSRC" && mkdir -p "$KSRC"
			tar -xJf "$tarball" -C "$KSRC" --strip-components=1 || die "cannot extract $tarball"
			touch "$KSRC/.ntbnet-extracted"
		fi
		exec 9>&-
	fi
fi
[ -x "$KSRC/scripts/kconfig/merge_config.sh" ] || die "$KSRC is not a kernel source tree (no scripts/kconfig/merge_config.sh)"
kver=$(make -s -C "$KSRC" kernelversion 2>/dev/null) || die "cannot read the kernel version of $KSRC"
case "$kver" in
6.12|6.12.*) ;;
*) die "$KSRC is Linux $kver; ntbnet is written for 6.12" ;;
esac

# --- The toolchain ------------------------------------------------------------
# Versions as the kernel compares them (scripts/rust_is_available.sh).
canon() { echo "$1" | awk -F. '{ printf "%d%03d%03d\n", $1, $2, $3 }'; }
minver() { "$KSRC/scripts/min-tool-version.sh" "$1"; }
suffix=
case "$llvm" in -*) suffix=$llvm ;; esac
problems=()
need() { problems+=("$1"); }

for tool in clang ld.lld llvm-ar llvm-nm llvm-objcopy; do
	command -v "$tool$suffix" >/dev/null ||
		need "no $tool$suffix (LLVM=$llvm): apt-get install clang$suffix lld$suffix llvm$suffix"
done
if command -v "clang$suffix" >/dev/null; then
	v=$("clang$suffix" --version | sed -nE 's/.*clang version ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' | head -n1)
	[ "$(canon "${v:-0.0.0}")" -ge "$(canon "$(minver llvm)")" ] ||
		need "clang$suffix $v is older than the kernel's minimum $(minver llvm): apt-get install clang-19 lld-19 llvm-19 and LLVM=-19"
fi
if ! command -v rustc >/dev/null; then
	need "no rustc: install rustup (https://rustup.rs), then rustup toolchain install stable"
else
	v=$(rustc --version | awk '{ print $2 }')
	[ "$(canon "${v%%-*}")" -ge "$(canon "$(minver rustc)")" ] ||
		need "rustc $v is older than the kernel's minimum $(minver rustc): rustup update stable"
	[ -f "$(rustc --print sysroot)/lib/rustlib/src/rust/library/core/src/lib.rs" ] ||
		need "the Rust standard library source is missing: rustup component add rust-src"
fi
if ! command -v bindgen >/dev/null; then
	need "no bindgen: cargo install --locked bindgen-cli (scripts/bootstrap.sh pins the version the project tests)"
else
	v=$(bindgen --version | awk '{ print $2 }')
	[ "$(canon "$v")" -ge "$(canon "$(minver bindgen)")" ] ||
		need "bindgen $v is older than the kernel's minimum $(minver bindgen): cargo install --locked bindgen-cli"
	# The libclang bindgen loads, found as the kernel finds it.
	lc=$(LC_ALL=C bindgen "$KSRC/scripts/rust_is_available_bindgen_libclang.h" 2>&1 >/dev/null |
		sed -nE 's:.*clang version ([0-9]+\.[0-9]+\.[0-9]+).*:\1:p' | head -n1) || true
	if [ -z "$lc" ]; then
		need "bindgen cannot load libclang: apt-get install libclang-dev (or set LIBCLANG_PATH)"
	elif [ "$(canon "$lc")" -lt "$(canon "$(minver llvm)")" ]; then
		need "bindgen uses libclang $lc, older than the kernel's minimum $(minver llvm): apt-get install libclang-19-dev and LIBCLANG_PATH=/usr/lib/llvm-19/lib"
	fi
fi
if [ "${BTF:-}" = keep ]; then
	v=$(pahole --version 2>/dev/null | tr -d v) || v=
	[ -n "$v" ] && [ "${v/./}" -ge 122 ] ||
		need "BTF=keep needs pahole >= 1.22 (for --lang_exclude=rust): apt-get install dwarves"
fi
if [ ${#problems[@]} -gt 0 ]; then
	for p in "${problems[@]}"; do echo "hw-kernel-config: $p" >&2; done
	die "the toolchain cannot build a Rust-enabled $kver kernel, see above"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
# The kernel's own verdict (it also checks that the versions work together).
make -s -C "$KSRC" O="$out" LLVM="$llvm" rustavailable >/dev/null 2>"$out/rustavailable.log" || {
	cat "$out/rustavailable.log" >&2
	die "make rustavailable: the kernel cannot use this Rust toolchain, see above"
}
say "toolchain: $(rustc --version | awk '{ print "rustc", $2 }'), $(bindgen --version), libclang $lc, $("clang$suffix" --version | head -n1)"

# --- The changes Rust forces on a distribution config -----------------------
adjust=$out/ntbnet-adjust.config
{
	echo "# Generated by scripts/hw-kernel-config.sh: what 6.12's CONFIG_RUST needs"
	echo "# of a distribution config (init/Kconfig, config RUST)."
	echo "# RUST depends on !MODVERSIONS: modules lose symbol CRCs, so a module"
	echo "# built for another build of this kernel is not refused by its CRCs."
	echo "# CONFIG_MODVERSIONS is not set"
	echo "# RUST depends on !RANDSTRUCT: no structure layout randomisation."
	echo "CONFIG_RANDSTRUCT_NONE=y"
	if [ "${BTF:-}" != keep ]; then
		echo "# RUST depends on !DEBUG_INFO_BTF unless pahole >= 1.22 skips the"
		echo "# Rust units: without BTF, CO-RE BPF programs and bpftrace's"
		echo "# typed probes do not work on this kernel (BTF=keep keeps it)."
		echo "# CONFIG_DEBUG_INFO_BTF is not set"
	fi
	# The distribution's module signing key is not in the source tree; the
	# kernel generates one for this build.
	if grep -q '^CONFIG_MODULE_SIG_KEY=' "$config" &&
		! grep -qx 'CONFIG_MODULE_SIG_KEY="certs/signing_key.pem"' "$config"; then
		echo "# The distribution's signing key is not here: let the build make one."
		echo 'CONFIG_MODULE_SIG_KEY="certs/signing_key.pem"'
	fi
	# Nor are its certificate files.
	for opt in SYSTEM_TRUSTED_KEYS SYSTEM_REVOCATION_KEYS; do
		if grep -q "^CONFIG_$opt=\".\+\"" "$config"; then
			echo "# The distribution's $opt file is not here either."
			echo "CONFIG_$opt=\"\""
		fi
	done
} > "$adjust"

# --- Merge, olddefconfig, verify -------------------------------------------
cp "$config" "$out/distribution.config"
(cd "$out" && "$KSRC/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/distribution.config" \
	"$top/scripts/ntbnet.config" "$adjust") > "$out/merge.log" 2>&1 || {
	cat "$out/merge.log" >&2
	die "merge_config.sh failed, see above"
}
make -s -C "$KSRC" O="$out" LLVM="$llvm" olddefconfig > "$out/olddefconfig.log" 2>&1 || {
	cat "$out/olddefconfig.log" >&2
	die "make olddefconfig failed, see above"
}
bad=0
while IFS= read -r line; do
	case "$line" in
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		if grep -q "^$opt=" "$out/.config"; then
			echo "hw-kernel-config: wanted '$line', got $(grep "^$opt=" "$out/.config")" >&2; bad=1
		fi ;;
	CONFIG_*)
		grep -qxF "$line" "$out/.config" || {
			echo "hw-kernel-config: wanted $line, got $(grep "^${line%%=*}[= ]" "$out/.config" || echo unset)" >&2; bad=1
		} ;;
	esac
done < <(grep -hE '^(CONFIG_|# CONFIG_.* is not set)' "$top/scripts/ntbnet.config" "$adjust")
[ $bad = 0 ] || die "options not honoured after olddefconfig, see above (a dependency the distribution config lacks?)"

# --- What changed -------------------------------------------------------------
"$KSRC/scripts/diffconfig" "$out/distribution.config" "$out/.config" > "$out/config.diff" || true
# Options the distribution had on and this config has off, minus the
# compiler capability symbols that follow from LLVM=1.
lost=$(awk '/^-[A-Z0-9_]+ [ym]$/ { print substr($1, 2) } /^ [A-Z0-9_]+ [ym] -> n$/ { print $1 }' "$out/config.diff" |
	grep -Ev '^(CC_|AS_|LD_|GCC_|HAVE_|PAHOLE_|TOOLS_|RUSTC_|CLANG_|LLD_)' | sort | tr '\n' ' ')
gained=$(grep -hE '^CONFIG_' "$top/scripts/ntbnet.config" | while IFS= read -r l; do
	o=${l%%=*}; grep -qxF "$l" "$out/distribution.config" || printf '%s ' "${o#CONFIG_}=${l#*=}"; done)
say "wrote $out/.config from $config"
say "added for ntbnet: ${gained:-nothing (the distribution config had it all)}"
say "turned off (Rust needs it, or clang$suffix cannot do it): ${lost:-nothing}"
say "every change: $out/config.diff; what forced the Rust ones: $adjust"
case " $lost " in
*" MITIGATION_RETHUNK "*|*" MITIGATION_SRSO "*)
	say "note: clang$suffix lacks the return-thunk mitigations (Retbleed, SRSO) this CPU may need;"
	say "      clang 15 or later has them: apt-get install clang-19 lld-19 llvm-19, then LLVM=-19" ;;
esac
say "build: make -C $KSRC O=$out LLVM=$llvm -j\$(nproc) bindeb-pkg   (Debian packages in $(dirname "$out"))"
say "then: dpkg -i the linux-image and linux-headers packages, and scripts/kernel-headers-rust.sh $out /usr/src/linux-headers-VERSION"
say "      (6.12's headers package lacks the Rust metadata that building ntbnet needs; keep $out/rust)"
