#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 400
# vm-kernels: debug
#
# ntbnet under failing allocations (the debug kernel's fault injection):
# failslab and fail_page_alloc fail one in $PCT of the allocations made
# with ntbnet's code on the stack (the stack trace filter over the module's
# address range), on both hosts, while TCP flows both ways, the link
# flaps, the queue count, ring size and MTU change, and the module is
# unloaded. Nothing may crash, hang or leak; failed receive buffers are
# counted (rx_dropped), failed link setups logged; once the failures stop
# the link comes back by itself.
. /extra/lib.sh
ktap_plan 13
PCT=10
F=/sys/kernel/debug

if [ ! -d $F/failslab ] || [ ! -d $F/fail_page_alloc ]; then
	for i in $(seq 13); do ktap_skip "failslab: case $i" "no fault injection in this kernel"; done
	ktap_finished
	exit 0
fi

ntb_leaks_reset
ktap_check "failslab: ntb0 up" ntb_up
ktap_check "failslab: carrier" wait_for 60 ntb_carrier
wait_for 60 ping -c 1 -W 1 "$PEER"

# inject PERCENT: fail PERCENT % of ntbnet's allocations (0: none).
inject() { fail_allocs ntbnet "$1"; }
if [ "$HOST" = 0 ]; then
	timeout 150 $IPERF -s -1 > /tmp/iperf.log 2>&1 &
	server=$!
fi
ntb_barrier 6701

ktap_check "failslab: injection on ($PCT %)" inject $PCT
drop0=$(ntb_stat_sum '^q[0-9]+_rx_dropped$')
# 10 s of TCP both ways; receive buffers fail, TCP retransmits.
if [ "$HOST" = 0 ]; then
	wait "$server"
	ktap_result "failslab: TCP both ways (server)" $?
else
	sleep 2
	timeout 120 $IPERF -c "$PEER" -t 10 --bidir > /tmp/iperf.log 2>&1
	ktap_result "failslab: TCP both ways" $?
fi
grep -E 'SUM|sender|receiver' /tmp/iperf.log | sed 's/^/# /'
ntb_barrier 6702 120

# Link flaps, channels, rings, MTU: every renegotiation allocates.
ok=0
for step in down up -L:1 -G:128 mtu:9000 -L:2 -G:512 mtu:1500 down up; do
	case $step in
	down | up) $IP link set ntb0 "$step" || ok=1 ;;
	-L:*) $ETHTOOL -L ntb0 combined "${step#-L:}" || ok=1 ;;
	-G:*) $ETHTOOL -G ntb0 rx "${step#-G:}" tx "${step#-G:}" || ok=1 ;;
	mtu:*) $IP link set ntb0 mtu "${step#mtu:}" || ok=1 ;;
	esac
	ping -c 3 -i 0.2 -W 1 "$PEER" > /dev/null 2>&1
done
ktap_result "failslab: 10 link, channel, ring and MTU changes" $ok
ntb_barrier 6703 120
ktap_check "failslab: injection off" inject 0
ktap_check "failslab: carrier back" wait_for 60 ntb_carrier
pings() { wait_for 60 ping -c 1 -W 1 "$PEER" && ping -c 10 -i 0.2 "$PEER" | grep -q ' 0% packet loss'; }
ktap_check "failslab: ping, no loss" pings
drops=$(($(ntb_stat_sum '^q[0-9]+_rx_dropped$') - drop0))
fails=$(dmesg | grep -c 'ntb0: cannot start the link')
ktap_diag "rx_dropped $drops, failed link starts $fails"
$ETHTOOL -S ntb0 | grep -v ": 0$" | sed "s/^/# /"
ntb_barrier 6704 120

# Unload with failures on, load again without.
inject $PCT
ktap_check "failslab: rmmod ntbnet under injection" timeout 60 rmmod ntbnet
inject 0
reload() { ntb_up && wait_for 60 ntb_carrier; }
ktap_check "failslab: reload, carrier" reload
ktap_check "failslab: ping after reload" wait_for 60 ping -c 1 -W 1 "$PEER"
ntb_barrier 6705 120
ktap_check "failslab: rmmod ntbnet" rmmod ntbnet
leaks=$(ntb_leaks)
ktap_result "failslab: no leaks ($leaks unreferenced objects)" "$leaks"
ktap_finished
