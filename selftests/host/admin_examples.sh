#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The example configuration files of Documentation/examples/ parse, checked
# by the programs that read them: systemd-networkd (the .network file, in
# private namespaces) and udevadm (the .link file), ifup --no-act
# (ifupdown), modprobe -C (modprobe.d); modules-load.d names modules the
# kernel has. Each parser is also shown a broken file, which it must flag.
# udevadm and ifup come from Debian's .debs in the cache (bootstrap.sh),
# unpacked, not installed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/host/lib.sh"
ex=$top/Documentation/examples
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unpack() {
	local deb
	deb=$(ls "$cache"/debs/"$1"_*.deb 2>/dev/null | head -n1) && [ -n "$deb" ] && dpkg-deb -x "$deb" "$work/$1"
}

# systemd-networkd with a private /run and /etc/systemd/network in a new
# network namespace: it parses the .network files in /run/systemd/network
# at start, logs what it does not understand, and is stopped after 5 s.
networkd() {
	unshare -m -n sh -c '
		mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/network &&
		mount -t tmpfs tmpfs /etc/systemd/network &&
		cp "$@" /run/systemd/network/ &&
		SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console timeout 5 /lib/systemd/systemd-networkd
		exit 0' sh "$@" 2>&1
}
# udevadm's net_setup_link builtin loads every .link file, the same way.
udev_link() {
	unshare -m sh -c '
		mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/network &&
		cp "$@" /run/systemd/network/ &&
		SYSTEMD_LOG_LEVEL=debug "$0" test-builtin net_setup_link /sys/class/net/lo
		exit 0' "$work/udev/bin/udevadm" "$@" 2>&1
}
# Lines in which a systemd parser complains about a file.
complaints() { grep -E "^/run/systemd/network/.*:[0-9]+: " "$1"; }

# --- systemd-networkd -----------------------------------------------------------
networkd "$ex/systemd/20-ntbnet.network" > "$work/nd.log"
sed 's/^/# /' "$work/nd.log" | grep -E 'network/|Enumeration' | head -n 20
check "systemd-networkd ran and enumerated links" grep -q "Enumeration completed" "$work/nd.log"
check "systemd-networkd: 20-ntbnet.network without a complaint" eval "! complaints '$work/nd.log'"
sed 's/^LinkLocalAddressing=no/LinkLocalAdressing=no/' "$ex/systemd/20-ntbnet.network" > "$work/21-bad.network"
networkd "$work/21-bad.network" > "$work/nd-bad.log"
check "systemd-networkd: a misspelt key is flagged (control)" grep -q "21-bad.network:.*Unknown key 'LinkLocalAdressing'" "$work/nd-bad.log"

# --- udev .link -------------------------------------------------------------------
if unpack udev; then
	udev_link "$ex/systemd/10-ntbnet.link" > "$work/udev.log"
	sed 's/^/# /' "$work/udev.log" | grep 'network/'
	check "udevadm: 10-ntbnet.link parsed" grep -q 'Parsed configuration file "/run/systemd/network/10-ntbnet.link"' "$work/udev.log"
	check "udevadm: 10-ntbnet.link without a complaint" eval "! complaints '$work/udev.log'"
	sed 's/^PermanentMACAddress=.*/PermanentMACAddress=02:5a:3c/' "$ex/systemd/10-ntbnet.link" > "$work/11-bad.link"
	udev_link "$work/11-bad.link" > "$work/udev-bad.log"
	check "udevadm: a bad MAC address is flagged (control)" grep -q "11-bad.link:[0-9]*: Not a valid hardware address" "$work/udev-bad.log"
else
	fail "udev .deb in the cache" "run scripts/bootstrap.sh"
fi

# --- ifupdown -----------------------------------------------------------------------
if unpack ifupdown; then
	ifup() { "$work/ifupdown/sbin/ifup" --state-dir "$work/ifstate" --no-scripts --no-act "$@" 2>&1; }
	out=$(ifup -i "$ex/ifupdown/ntb0" ntb0)
	echo "$out" | sed 's/^/# /'
	check "ifup --no-act: the address" eval "echo '$out' | grep -q '^ip addr add 10.0.0.1/255.255.255.0 .*dev ntb0'"
	check "ifup --no-act: the MTU, link up" eval "echo '$out' | grep -q '^ip link set dev ntb0 mtu 65521 *up'"
	check "ifup --no-act: modprobe ntbnet first" eval "echo '$out' | grep -v '^$' | head -n1 | grep -qx 'modprobe ntbnet'"
	sed '/address/d' "$ex/ifupdown/ntb0" > "$work/bad-ifupdown"
	check "ifup --no-act: a stanza without an address is refused (control)" eval "! ifup -i '$work/bad-ifupdown' ntb0"
else
	fail "ifupdown .deb in the cache" "run scripts/bootstrap.sh"
fi

# --- modprobe.d, modules-load.d --------------------------------------------------
conf=$(modprobe -C "$ex/modprobe.d" --showconfig 2> "$work/modprobe.err")
check "modprobe.d: the window size option" eval "echo '$conf' | grep -qx 'options ntb_hw_switchtec max_mw_size=0x1000000'"
check "modprobe.d: the soft dependency" eval "echo '$conf' | grep -qx 'softdep ntbnet pre: ntb_hw_switchtec'"
check "modprobe.d: no warnings" test ! -s "$work/modprobe.err"
if kdir=$("$top/scripts/build-kernel.sh" --print); then
	bad=
	for m in $(grep -v '^#' "$ex/modules-load.d/ntbnet.conf"); do
		[ "$m" = ntbnet ] || grep -q "/$m.o\$" "$kdir/modules.order" || bad+=" $m"
	done
	check "modules-load.d: every module exists in the kernel${bad:+ (not:$bad)}" test -z "$bad"
else
	fail "the test kernel is built" "run make first"
fi
summary
