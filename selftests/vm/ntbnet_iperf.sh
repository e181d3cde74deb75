#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
#
# ntbnet: TCP (one stream each way, then four) and UDP through iperf3,
# with every queue carrying traffic and no protocol error counted. At MTU
# 1500, TCP's frames are larger than the MTU: TSO segments cross the link
# whole, as GSO frames.
. /extra/lib.sh
ktap_plan 8

ktap_check "iperf: ntb0 up" ntb_up
ktap_check "iperf: carrier" wait_for 30 ntb_carrier
wait_for 30 ping -c 1 -W 1 "$PEER"

# iperf3 RUN-NAME ARGS...: host 0 serves, host 1 runs the client.
iperf() {
	name=$1
	shift
	if [ "$HOST" = 0 ]; then
		ktap_check "$name (server)" timeout 120 $IPERF -s -1
	else
		out=$(wait_for 30 $IPERF -c "$PEER" -t 1 >/dev/null && sleep 1 &&
			timeout 120 $IPERF -c "$PEER" "$@" 2>&1)
		rc=$?
		echo "$out" | grep -E 'sender|receiver|SUM' | sed 's/^/# /'
		ktap_result "$name" $rc
	fi
}
if [ "$HOST" = 0 ]; then
	# The client's probe connection above is one server run too.
	timeout 120 $IPERF -s -1 > /dev/null
fi
tx_bytes() { cat /sys/class/net/ntb0/statistics/tx_bytes; }
tx_packets() { cat /sys/class/net/ntb0/statistics/tx_packets; }
b0=$(tx_bytes) p0=$(tx_packets)
iperf "tcp: 1 stream, 8 s" -t 8
if [ "$HOST" = 1 ]; then
	avg=$(( ($(tx_bytes) - b0) / ($(tx_packets) - p0 + 1) ))
	ktap_result "tso: average frame $avg bytes at MTU $(cat /sys/class/net/ntb0/mtu)" \
		"$([ "$avg" -gt 1514 ]; echo $?)"
else
	ktap_skip "tso: average frame larger than the MTU" "measured on the sender"
fi
[ "$HOST" = 0 ] && timeout 120 $IPERF -s -1 > /dev/null
iperf "tcp: reverse, 8 s" -t 8 -R
[ "$HOST" = 0 ] && timeout 120 $IPERF -s -1 > /dev/null
iperf "tcp: 4 streams, 8 s" -t 8 -P 4
[ "$HOST" = 0 ] && timeout 120 $IPERF -s -1 > /dev/null
iperf "udp: 100 Mbit/s, 8 s" -u -b 100M -t 8
ntb_barrier 6101

$ETHTOOL -S ntb0 | grep -v ": 0$" | sed "s/^/# /"
bad=$(ntb_stat_sum '^q[0-9]+_bad_')
ktap_result "iperf: no protocol errors" "$bad"
ktap_finished
