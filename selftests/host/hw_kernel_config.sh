#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make hw-kernel-config` on Debian's own 6.12 amd64 config (the .config in
# linux-headers-6.12.*-amd64, which scripts/bootstrap.sh downloads into the
# cache): every option ntbnet needs is set after olddefconfig, the ones
# Rust forbids are off; a too-old bindgen and a missing config get a clear
# refusal. Host-side: no kernel build.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/host/lib.sh"

deb=$(debian_headers_deb) || { fail "Debian's linux-headers .deb is in the cache" "run scripts/bootstrap.sh"; summary; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/deb"
distcfg=$(echo "$work"/deb/usr/src/linux-headers-*-amd64/.config)
check "Debian's config has no RUST, has MODVERSIONS and DEBUG_INFO_BTF" \
	eval "! grep -q '^CONFIG_RUST=y' '$distcfg' && grep -qx CONFIG_MODVERSIONS=y '$distcfg' && grep -qx CONFIG_DEBUG_INFO_BTF=y '$distcfg'"

out=$work/hw
# Through the documented command.
if make -s -C "$top" hw-kernel-config CONFIG="$distcfg" OUT="$out" > "$work/log" 2>&1; then rc=0; else rc=$?; fi
sed 's/^/# /' "$work/log"
check "make hw-kernel-config succeeds on $(basename "$(dirname "$distcfg")")" test "$rc" = 0
# Every option of the shared fragment, checked here independently.
missing=
while IFS= read -r line; do
	grep -qxF "$line" "$out/.config" || missing+=" $line"
done < <(grep -E '^CONFIG_' "$top/scripts/ntbnet.config")
check "every option of scripts/ntbnet.config is set after olddefconfig${missing:+ (missing:$missing)}" test -z "$missing"
for opt in MODVERSIONS DEBUG_INFO_BTF RANDSTRUCT_FULL RANDSTRUCT_PERFORMANCE; do
	check "CONFIG_$opt is off" eval "! grep -q '^CONFIG_$opt=' '$out/.config'"
done
check "built with clang (LLVM=1)" grep -qx CONFIG_CC_IS_CLANG=y "$out/.config"
check "the distribution's other choices stay (e.g. CONFIG_IGB=m)" grep -qx CONFIG_IGB=m "$out/.config"
check "it says what it turned off and why" eval "grep -q 'turned off.*MODVERSIONS' '$work/log' && grep -q 'depends on !MODVERSIONS' '$out/ntbnet-adjust.config'"
check "it prints the build command" grep -q "bindeb-pkg" "$work/log"

# A bindgen older than the kernel's minimum: refused, with what to install.
mkdir -p "$work/bin"
printf '#!/bin/sh\necho "bindgen 0.60.0"\n' > "$work/bin/bindgen"
chmod +x "$work/bin/bindgen"
PATH=$work/bin:$PATH CARGO_HOME=$work/none "$top/scripts/hw-kernel-config.sh" "$distcfg" "$work/old" > "$work/log2" 2>&1
rc=$?
sed 's/^/# /' "$work/log2"
check "an old bindgen is refused" test "$rc" != 0
check "... saying what to install" grep -q "bindgen 0.60.0 is older than the kernel's minimum 0.65.1: cargo install --locked bindgen-cli" "$work/log2"
check "... before touching a config" test ! -e "$work/old/.config"

"$top/scripts/hw-kernel-config.sh" "$work/no-such-config" "$work/none" > "$work/log3" 2>&1
rc=$?
check "a missing CONFIG is one clear line" eval "[ $rc != 0 ] && [ \$(wc -l < '$work/log3') = 1 ] && grep -q 'no such file' '$work/log3'"
summary
