#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 1800
#
# Stress: host 0 unloads and reloads ntbnet $CYCLES times while host 1
# sends to it (UDP at 50 Mbit/s, which needs no answer, so the sender
# keeps sending through every link drop). Each cycle waits for the link to
# come back. Then a ping, a leak check, and a clean rmmod on both.
. /extra/lib.sh
CYCLES=${CYCLES:-100}
ktap_plan 5
ntb_leaks_reset
ktap_check "unload cycles: ntb0 up" ntb_up
ktap_check "unload cycles: carrier" wait_for 60 ntb_carrier
wait_for 60 ping -c 1 -W 1 "$PEER"
ntb_barrier 6801 120
if [ "$HOST" = 1 ]; then
	# The sender: blasts at host 0 until host 0 says it is done.
	( while :; do timeout 60 $IPERF -c "$PEER" -u -b 50M -t 30 > /dev/null 2>&1 || sleep 1; done ) &
	blaster=$!
	ntb_recv 6802 3000 > /dev/null
	kill $blaster 2>/dev/null
	ktap_skip "unload cycles: $CYCLES cycles" "run on host 0"
else
	( while :; do timeout 60 $IPERF -s > /dev/null 2>&1; done ) &
	server=$!
	ok=0 i=0 start=$(cut -d. -f1 /proc/uptime)
	while [ $i -lt "$CYCLES" ]; do
		i=$((i + 1))
		rmmod ntbnet || { ok=1; ktap_diag "rmmod failed at cycle $i"; break; }
		ntb_up || { ok=1; ktap_diag "reload failed at cycle $i"; break; }
		wait_for 60 ntb_carrier || { ok=1; ktap_diag "no carrier at cycle $i"; break; }
	done
	ktap_diag "$i cycles in $(($(cut -d. -f1 /proc/uptime) - start)) s"
	ktap_result "unload cycles: $CYCLES cycles" $ok
	ntb_send 6802 done
	kill $server 2>/dev/null
fi
wait_for 60 ping -c 1 -W 1 "$PEER"
ktap_check "unload cycles: ping after the cycles" sh -c "ping -c 10 -i 0.2 $PEER | grep -q ' 0% packet loss'"
ntb_barrier 6803 120
rmmod ntbnet
leaks=$(ntb_leaks)
ktap_result "unload cycles: no leaks ($leaks)" "$leaks"
ktap_finished
