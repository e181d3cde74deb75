#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS (dkms.conf): `dkms add/build/install` of ntbnet against the test
# kernel as a headers package has it (--kernelsourcedir, private DKMS
# trees, nothing installed on this machine), only ntbnet by default, the
# test-bed drivers with TESTBED=1 (against the full build tree); a kernel
# without CONFIG_RUST (Debian's own 6.12) is skipped by DKMS and refused in
# one line by `make KDIR=`, and so is a headers tree without the Rust
# metadata.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/host/lib.sh"

kdir=$("$top/scripts/build-kernel.sh" --print) || { fail "the test kernel is built" "run make first"; summary; }
krel=$(cat "$kdir/include/config/kernel.release")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")

# dkms with private trees: nothing under /var/lib/dkms, /usr/src or /lib/modules.
dk() {
	local tree=$1; shift
	mkdir -p "$work/$tree/dkms"
	dkms "$@" --dkmstree "$work/$tree/dkms" --sourcetree "$work/$tree/src" >> "$work/$tree.log" 2>&1
}

# --- The kernel as a distribution installs it: a headers tree --------------------
# What 6.12's `make bindeb-pkg` puts into linux-headers-<version> (the
# kernel's own scripts/package/install-extmod-build, run as builddeb runs
# it), which lacks the Rust metadata; scripts/kernel-headers-rust.sh adds it.
hdr=$work/linux-headers-$krel
srctree=$(readlink -f "$kdir/source")
(cd "$kdir" && srctree=$srctree SRCARCH=x86 CC=clang HOSTCC=clang \
	sh "$srctree/scripts/package/install-extmod-build" "$hdr") > "$work/hdr.log" 2>&1
cp "$kdir/.config" "$hdr/.config"
check "install-extmod-build made a headers tree" test -f "$hdr/Module.symvers"
make -s -C "$top" KDIR="$hdr" > "$work/refuse-rmeta.log" 2>&1
rc=$?
sed 's/^/# /' "$work/refuse-rmeta.log"
check "make KDIR=<headers without Rust metadata> refuses in one line" eval \
	"[ $rc != 0 ] && [ \$(wc -l < '$work/refuse-rmeta.log') = 1 ] && grep -q 'kernel-headers-rust.sh' '$work/refuse-rmeta.log'"
check "scripts/kernel-headers-rust.sh completes it" "$top/scripts/kernel-headers-rust.sh" "$kdir" "$hdr"

# --- ntbnet alone ---------------------------------------------------------------
src=$("$top/scripts/dkms-source.sh" "$work/plain/src")
check "dkms-source.sh copies the source to ntbnet-$ver" test -f "$src/dkms.conf" -a -f "$src/Kbuild" -a -d "$src/src"
check "... without build output or host crates" eval "[ -z \"\$(find '$src' -name '*.ko' -o -name '*.o' -o -name target -o -name server)\" ]"
check "dkms add" dk plain add "ntbnet/$ver"
dk plain build "ntbnet/$ver" -k "$krel" --kernelsourcedir "$hdr"
rc=$?
sed 's/^/# /' "$work/plain.log" | tail -n 20
check "dkms build against the test kernel's headers tree ($krel)" test $rc = 0
mods=$work/plain/dkms/ntbnet/$ver/$krel/x86_64/module
check "it built ntbnet.ko" eval "ls $mods/ntbnet.ko*"
check "... and no test-bed driver" eval "! ls $mods/ntb_hw_ivshmem.ko* $mods/ntb_irqtest.ko*"
ko=$(ls "$mods"/ntbnet.ko* 2>/dev/null | head -n1)
check "... for kernel $krel (vermagic)" eval "modinfo -F vermagic '$ko' | grep -q '^$krel '"
check "... with every parameter described" eval "[ -n \"\$(modinfo -F parm '$ko')\" ] && ! modinfo -F parm '$ko' | grep -q ':(' "
# install: into the private install tree (a /lib/modules under
# $work/plain/root), then depmod there (dkms's own depmod only knows
# /lib/modules).
mkdir -p "$work/plain/root/lib/modules/$krel"
dkms install "ntbnet/$ver" -k "$krel" --kernelsourcedir "$hdr" --no-depmod --force \
	--dkmstree "$work/plain/dkms" --sourcetree "$work/plain/src" \
	--installtree "$work/plain/root/lib/modules" >> "$work/plain.log" 2>&1
check "dkms install puts ntbnet.ko into the install tree" eval "ls $work/plain/root/lib/modules/$krel/updates/dkms/ntbnet.ko*"
depmod -b "$work/plain/root" "$krel" >> "$work/plain.log" 2>&1
check "... where depmod and modinfo find it" eval "modinfo -b '$work/plain/root' -k '$krel' -F filename ntbnet | grep -q updates/dkms/ntbnet.ko"
check "dkms status says installed" eval "dkms status --dkmstree '$work/plain/dkms' --sourcetree '$work/plain/src' --installtree '$work/plain/root/lib/modules' ntbnet | grep -q 'installed'"

# --- with the test-bed drivers (TESTBED=1) ------------------------------------
"$top/scripts/dkms-source.sh" "$work/tb/src" 1 > /dev/null
dk tb add "ntbnet/$ver"
dk tb build "ntbnet/$ver" -k "$krel" --kernelsourcedir "$kdir"
rc=$?
mods=$work/tb/dkms/ntbnet/$ver/$krel/x86_64/module
check "TESTBED=1: dkms build also builds ntb_hw_ivshmem and ntb_irqtest" \
	eval "[ $rc = 0 ] && ls $mods/ntbnet.ko* $mods/ntb_hw_ivshmem.ko* $mods/ntb_irqtest.ko*"

# --- a kernel without Rust: Debian's own 6.12 -------------------------------------
deb=$(debian_headers_deb) || deb=
if [ -z "$deb" ]; then
	fail "Debian's linux-headers .deb is in the cache" "run scripts/bootstrap.sh"
else
	dpkg-deb -x "$deb" "$work/deb"
	dhdr=$(echo "$work"/deb/usr/src/linux-headers-*-amd64)
	drel=$(basename "$dhdr"); drel=${drel#linux-headers-}
	dk plain build "ntbnet/$ver" -k "$drel" --kernelsourcedir "$dhdr"
	rc=$?
	tail -n 3 "$work/plain.log" | sed 's/^/# /'
	check "dkms skips $drel (no CONFIG_RUST): exit 77, which autoinstall treats as a skip" test $rc = 77
	make -s -C "$src" KDIR="$dhdr" > "$work/refuse.log" 2>&1
	rc=$?
	sed 's/^/# /' "$work/refuse.log"
	check "make KDIR=<$drel> refuses" test $rc != 0
	check "... in one line that says why" eval "[ \$(wc -l < '$work/refuse.log') = 1 ] && grep -q 'has no CONFIG_RUST' '$work/refuse.log'"
fi
summary
