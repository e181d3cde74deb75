#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec -n 2 -t 600 --restart 1@/restart:ready
#
# The Switchtec model survives its peer: with ntb_transport and ntb_netdev
# carrying pings, host1's QEMU is killed (SIGKILL, vm.sh --restart) and
# boots again (once it printed restart:ready). host0 keeps its modules loaded throughout: it must see the
# link go down within a second of host1's death (measured in host0's own
# clock, from the last ping host1 answered to ntb_hw_switchtec's "ntb link
# down"), then up again when host1 is back, and traffic must flow again:
# on both hosts, 10 pings all answered (ping_no_loss of lib.sh: counted by
# the kernel, since busybox ping's socket drops replies behind the peer's
# echo requests on ntb_netdev).
. /extra/lib.sh
IP=/usr/bin/ip
me=10.31.0.$((HOST + 1)) peer=10.31.0.$((2 - HOST))

dev() { ls /sys/class/net | grep -v '^lo$' | head -n 1; }
up() {
	modprobe -a switchtec ntb_hw_switchtec ntb_transport ntb_netdev || return 1
	$IP addr add $me/24 dev "$(dev)" && $IP link set "$(dev)" up
}
down() { rmmod ntb_netdev ntb_transport ntb_hw_switchtec switchtec; }
carrier() { [ "$(cat "/sys/class/net/$(dev)/carrier" 2>/dev/null)" = "$1" ]; }
pings() { wait_for 300 ping -c 1 -W 1 $peer; }
now() { cut -d' ' -f1 /proc/uptime; }

if [ "$HOST" = 0 ]; then
	ktap_plan 9
	ktap_check "restart: modules up" up
	ktap_check "restart: traffic flows" pings
	# Record when host1 last answered, until the link goes down.
	(while :; do
		ping -c 1 -W 1 $peer > /dev/null 2>&1 && now > /tmp/last_answer
		sleep 0.1
	done) &
	pinger=$!
	link_down() { dmesg | grep -q 'switchtec0: ntb link down'; }
	ktap_check "restart: ntb link down when host1's VM dies" wait_for 300 link_down
	kill $pinger
	ktap_check "restart: carrier lost" wait_for 30 carrier 0
	last=$(cat /tmp/last_answer)
	downs=$(dmesg | sed -n 's/^\[ *\([0-9.]*\)\] switchtec switchtec0: ntb link down.*/\1/p' | head -n 1)
	gap=$(awk -v a="$last" -v b="$downs" 'BEGIN { printf "%d", (b - a) * 1000 }')
	ktap_diag "restart: last answer at $last s, ntb link down at $downs s: ${gap} ms"
	ktap_result "restart: link down within 1 s of the peer's death" \
		"$([ -n "$downs" ] && [ "$gap" -lt 1000 ]; echo $?)" "${gap} ms"
	ktap_check "restart: link up again, no reload" wait_for 300 carrier 1
	ktap_check "restart: traffic after host1 rebooted" pings
	ktap_check "restart: ping, no loss" ping_no_loss $peer 10
	# Let host1 see traffic too before the link goes away.
	sleep 10
	ktap_check "restart: unload" down
	ktap_finished
elif [ "$BOOT" = 0 ]; then
	ktap_plan 2
	ktap_check "restart: modules up" up
	ktap_check "restart: traffic flows" pings
	sleep 5
	echo restart:ready
	# vm.sh kills this VM now.
	sleep 600
else
	ktap_plan 4
	ktap_check "restart: modules up after reboot" up
	ktap_check "restart: traffic after reboot" pings
	ktap_check "restart: ping, no loss" ping_no_loss $peer 10
	sleep 15
	ktap_check "restart: unload" down
	ktap_finished
fi
