#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
#
# ntbnet: the MTU changes on both hosts while a TCP stream flows, across
# 68..65521; the limits are enforced; full-size frames pass at 9000 and
# 65521.
. /extra/lib.sh
ktap_plan 12

ktap_check "mtu: ntb0 up" ntb_up
ktap_check "mtu: carrier" wait_for 30 ntb_carrier
ntb_check_backend "mtu"
wait_for 30 ping -c 1 -W 1 "$PEER"
ktap_result "mtu: 67 refused" "$($IP link set ntb0 mtu 67 2>/dev/null; [ $? != 0 ]; echo $?)"
ktap_result "mtu: 65522 refused" "$($IP link set ntb0 mtu 65522 2>/dev/null; [ $? != 0 ]; echo $?)"
ntb_barrier 6301
# Full-size frames, before the MTU walk (which leaves route exceptions).
$IP link set ntb0 mtu 9000
ntb_barrier 6302
wait_for 20 ping -c 1 -W 1 -s 8972 "$PEER"
ktap_check "mtu: 9000, 8972-byte ping" ping_no_loss "$PEER" 5 8972
$IP link set ntb0 mtu 65521
ntb_barrier 6303
wait_for 20 ping -c 1 -W 1 -s 65493 "$PEER"
ktap_check "mtu: 65521, 65493-byte ping" ping_no_loss "$PEER" 5 65493
ntb_barrier 6304

# A 24 s stream from host 1 to host 0; both hosts walk the MTU meanwhile.
if [ "$HOST" = 0 ]; then
	timeout 120 $IPERF -s -1 > /tmp/iperf.log 2>&1 &
else
	sleep 1
	timeout 120 $IPERF -c "$PEER" -t 24 > /tmp/iperf.log 2>&1 &
fi
sleep 2
ok=0
for mtu in 9000 1500 65521 68 4000 576 65521 1500 9000 1500 65521 9000; do
	$IP link set ntb0 mtu $mtu || ok=1
	sleep 2
done
ktap_result "mtu: changed 12 times under traffic" $ok
wait $!
rc=$?
grep -E 'sender|receiver' /tmp/iperf.log | sed 's/^/# /'
ktap_result "mtu: TCP stream survived" $rc
ntb_barrier 6305
wait_for 20 ping -c 1 -W 1 "$PEER"
ktap_check "mtu: ping after the walk, no loss" ping_no_loss "$PEER" 10
ntb_barrier 6306

bad=$(ntb_stat_sum '^q[0-9]+_bad_')
ktap_result "mtu: no protocol errors" "$bad"
drops=$(ntb_stat_sum '^q[0-9]+_(rx|tx)_dropped$')
ktap_result "mtu: no drops ($drops)" "$([ "$drops" = 0 ]; echo $?)"
ktap_finished
