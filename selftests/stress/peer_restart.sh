#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 2400 --restart 1@75 --restart 1@75 --restart 1@75 --restart 1@75 --restart 1@75 --restart 1@75 --restart 1@75 --restart 1@75 --restart 1@75 --restart 1@75
#
# Stress: host 1's VM is killed (SIGKILL) and booted again 10 times, 75 s
# after each start, while it sends TCP to host 0. Host 0 keeps ntbnet
# loaded throughout: its carrier must go off and come back every time, and
# traffic must resume each time. After the 11th link-up host 0 tells host
# 1 to stop; then a ping, a leak check and rmmod.
. /extra/lib.sh
UPS=11
if [ "$HOST" = 1 ]; then
	ktap_plan 2
	ktap_check "restart: ntb0 up (boot $BOOT)" ntb_up
	wait_for 120 ntb_carrier
	( while :; do timeout 60 $IPERF -c "$PEER" -t 20 > /dev/null 2>&1 || sleep 1; done ) &
	sender=$!
	# Killed before this returns, except on the last boot.
	ntb_recv 7002 2400 > /dev/null
	kill $sender 2>/dev/null
	sleep 2
	ktap_check "restart: rmmod after the last boot" rmmod ntbnet
	ktap_finished
	exit
fi

ktap_plan 5
ntb_leaks_reset
ktap_check "restart: ntb0 up" ntb_up
( while :; do timeout 120 $IPERF -s -1 > /dev/null 2>&1; done ) &
server=$!
ups() { ntb_stat link_up; }
ok=0 seen=0 resumed=0 start=$(cut -d. -f1 /proc/uptime)
while [ "$seen" -lt $UPS ]; do
	if ! wait_for 300 sh -c "[ \$($ETHTOOL -S ntb0 | awk '\$1 == \"link_up:\" { print \$2 }') -gt $seen ]"; then
		ok=1
		ktap_diag "link-up $((seen + 1)) did not come"
		break
	fi
	seen=$(ups)
	rx=$(ntb_stat_sum '^q[0-9]+_rx_bytes$')
	# Traffic resumes on this link-up: a few MB within 30 s (host 1 is
	# killed 75 s after its VM starts).
	if wait_for 30 sh -c "[ \$($ETHTOOL -S ntb0 | awk '\$1 ~ /^q[0-9]+_rx_bytes:$/ { s += \$2 } END { print s + 0 }') -gt $((rx + 4000000)) ]"; then
		resumed=$((resumed + 1))
	fi
	ktap_diag "link-up $seen at $(($(cut -d. -f1 /proc/uptime) - start)) s, traffic after $resumed"
done
ktap_result "restart: $UPS link-ups ($resumed with traffic after them)" \
	"$([ $ok = 0 ] && [ "$resumed" = $UPS ]; echo $?)"
ntb_send 7002 done
kill $server 2>/dev/null
wait_for 60 ping -c 1 -W 1 "$PEER"
ktap_check "restart: ping at the end" sh -c "ping -c 10 -i 0.2 $PEER | grep -q ' 0% packet loss'"
down=$(ntb_stat link_down)
ktap_result "restart: carrier went down $down times" "$([ "$down" -ge $((UPS - 1)) ]; echo $?)"
sleep 3
rmmod ntbnet
leaks=$(ntb_leaks)
ktap_result "restart: no leaks ($leaks)" "$leaks"
ktap_finished
