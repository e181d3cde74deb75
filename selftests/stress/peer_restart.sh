#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 2400 --restart 1@/restart:streaming --restart 1@/restart:streaming --restart 1@/restart:streaming --restart 1@/restart:streaming --restart 1@/restart:streaming --restart 1@/restart:streaming --restart 1@/restart:streaming --restart 1@/restart:streaming --restart 1@/restart:streaming --restart 1@/restart:streaming
#
# Stress: host 1's VM is killed (SIGKILL) and booted again 10 times while
# it sends TCP to host 0. Host 0 keeps ntbnet loaded throughout. On each
# boot host 1 brings ntb0 up, starts sending and says which boot it is
# over the link; host 0 waits until the traffic has resumed (4 MB within
# 60 s) and answers; then host 1 says "restart:streaming", and vm.sh kills
# it there, in the middle of its stream. Host 0 counts host 1's boots by
# what they say, not by its link-ups: on a loaded machine a TCG VM misses
# heartbeats now and then, and the link bounces more often than host 1
# restarts. After the 11th boot a ping (host 1 unloads only after it),
# the carrier count, a leak check and rmmod.
. /extra/lib.sh
RESTARTS=10
if [ "$HOST" = 1 ]; then
	ktap_plan 2
	ktap_check "restart: ntb0 up (boot $BOOT)" ntb_up
	wait_for 120 ntb_carrier
	( while :; do timeout 60 $IPERF -c "$PEER" -t 20 > /dev/null 2>&1 || sleep 1; done ) &
	sender=$!
	ntb_send 7001 "boot $BOOT"
	ntb_recv 7002 300 > /dev/null
	if [ "$BOOT" != $RESTARTS ]; then
		echo "restart:streaming"
		# Killed here.
		sleep 600
	fi
	kill $sender 2>/dev/null
	# Host 0 pings before this host unloads.
	ntb_recv 7003 120 > /dev/null
	ktap_check "restart: rmmod after the last boot" rmmod ntbnet
	ktap_finished
	exit
fi

ktap_plan 5
ntb_leaks_reset
ktap_check "restart: ntb0 up" ntb_up
# A killed client's test ends after 5 s without data, so that the next
# boot's client is served.
( while :; do timeout 120 $IPERF -s -1 --rcv-timeout 5000 > /dev/null 2>&1; done ) &
server=$!
ok=0 resumed=0 start=$(cut -d. -f1 /proc/uptime)
for boot in $(seq 0 $RESTARTS); do
	if ! said=$(ntb_recv 7001 300) || [ "$said" != "boot $boot" ]; then
		ok=1
		ktap_diag "boot $boot of host 1 did not come (it said: '$said')"
		break
	fi
	rx=$(ntb_stat_sum '^q[0-9]+_rx_bytes$')
	if wait_for 60 sh -c "[ \$($ETHTOOL -S ntb0 | awk '\$1 ~ /^q[0-9]+_rx_bytes:$/ { s += \$2 } END { print s + 0 }') -gt $((rx + 4000000)) ]"; then
		resumed=$((resumed + 1))
	fi
	ktap_diag "boot $boot at $(($(cut -d. -f1 /proc/uptime) - start)) s, link-ups $(ntb_stat link_up), traffic after $resumed"
	ntb_send 7002 next
done
ktap_result "restart: $((RESTARTS + 1)) boots of host 1, traffic after $resumed of them" \
	"$([ $ok = 0 ] && [ "$resumed" = $((RESTARTS + 1)) ]; echo $?)"
kill $server 2>/dev/null
wait_for 60 ping -c 1 -W 1 "$PEER"
ktap_check "restart: ping at the end" sh -c "ping -c 10 -i 0.2 $PEER | grep -q ' 0% packet loss'"
ntb_send 7003 end
down=$(ntb_stat link_down)
ktap_result "restart: carrier went down $down times" "$([ "$down" -ge $RESTARTS ]; echo $?)"
sleep 3
rmmod ntbnet
leaks=$(ntb_leaks)
ktap_result "restart: no leaks ($leaks)" "$leaks"
ktap_finished
