#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 420 --stall 2000:1@/stall:ready
#
# The virtual NTB's link is symmetric, as a hardware link is: what one side
# takes down, the other sees go down too (Documentation/ivshmem-ntb.md,
# "Link"). With ntb_transport and ntb_netdev carrying pings, (A) vm.sh stops
# host 1's VM for 2 s (times SLOWDOWN; longer than the peer timeout, as a
# loaded machine stalls a TCG VM): host 0 takes the link down for the
# silence, and host 1, which noticed nothing of its own stall, must see the
# link go down too; both log link down and up, and traffic resumes both
# ways (before the fix, host 0's ntb_transport waited for a renegotiation
# that host 1 never started, and the queue stayed down). (B) Host 1 reloads
# ntb_transport and ntb_netdev (the client) while its ntb_hw_ivshmem stays:
# host 0 sees the link go down and up, and traffic resumes.
. /extra/lib.sh
me=10.40.0.$((HOST + 1)) PEER=10.40.0.$((2 - HOST))

# ktap_check runs its command in a subshell: look the device up each time.
dev() { ls /sys/class/net | grep -v '^lo$' | head -n 1; }
netdev_up() {
	modprobe -a ntb_transport ntb_netdev &&
		$IP addr add "$me/24" dev "$(dev)" && $IP link set "$(dev)" up
}
up() { modprobe ntb_hw_ivshmem && netdev_up; }
pings() { wait_for 90 ping -c 1 -W 1 "$PEER"; }
# The virtual NTB's link messages so far.
downs() { dmesg | grep -c 'ntb_hw_ivshmem: .*: link down'; }
ups() { dmesg | grep -c 'ntb_hw_ivshmem: .*: link up'; }
more() { [ "$($1)" -gt "$2" ]; }
reload_client() { rmmod ntb_netdev ntb_transport && netdev_up; }
both_more() { more downs "$1" && more ups "$2"; }
last_down() { dmesg | grep -o 'ntb_hw_ivshmem: .*: link down.*' | tail -n 1; }

ktap_plan 14
ktap_check "stall: modules up" up
ktap_check "stall: traffic flows" pings
ktap_check "stall: both hosts have traffic" ntb_barrier 6601 $((120 * SLOWDOWN))

# (A) Host 1's VM stops for 2 s.
d=$(downs) u=$(ups)
[ "$HOST" = 0 ] || echo stall:ready
ktap_check "stall: link down logged" wait_for $((60 * SLOWDOWN)) more downs "$d"
ktap_diag "stall: $(last_down)"
ktap_check "stall: link up logged after it" wait_for $((60 * SLOWDOWN)) more ups "$u"
ktap_check "stall: traffic resumes" pings
ktap_check "stall: ping, no loss" ping_no_loss "$PEER" 20
ktap_check "stall: both hosts done" ntb_barrier 6602 $((120 * SLOWDOWN))

# (B) Host 1 reloads the client; host 0's virtual NTB must see it.
d=$(downs) u=$(ups)
ktap_check "reload: both hosts ready" ntb_barrier 6603 $((120 * SLOWDOWN))
if [ "$HOST" = 1 ]; then
	t0=$(cut -d' ' -f1 /proc/uptime)
	ktap_check "reload: client reloaded" reload_client
	ktap_diag "reload: rmmod and modprobe took $(awk -v a="$t0" '{ printf "%.2f", $1 - a }' /proc/uptime) s"
	ktap_skip "reload: peer's link down and up logged" "host 0 checks"
else
	ktap_skip "reload: client reloaded" "host 1 reloads"
	ktap_check "reload: peer's link down and up logged" \
		wait_for $((60 * SLOWDOWN)) both_more "$d" "$u"
	ktap_diag "reload: $(last_down)"
fi
ktap_check "reload: traffic resumes" pings
ktap_check "reload: ping, no loss" ping_no_loss "$PEER" 20
ktap_check "reload: both hosts done" ntb_barrier 6604 $((120 * SLOWDOWN))
rmmod ntb_netdev ntb_transport ntb_hw_ivshmem
ktap_finished
