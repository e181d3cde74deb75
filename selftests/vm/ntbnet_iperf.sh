#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
#
# ntbnet: TCP (one stream each way, then four) and UDP through iperf3,
# with every queue carrying traffic and no protocol error counted. At MTU
# 1500, TCP's frames are larger than the MTU: TSO segments cross the link
# whole, as GSO frames. The link never loses a frame, so TCP must not
# retransmit: each host checks the segments it retransmitted during the TCP
# runs against those it sent. Retransmissions by loss detection (SACKs,
# duplicate ACKs: TCPFastRetrans) must stay under 0.01%: a steady rate is a
# bug, such as frames of one flow overtaking each other on two queues. All
# retransmissions must stay under 0.1%: a TCG vCPU stalled by a loaded
# machine fires tail-loss probes and timeouts now and then, which DSACKs
# then show to be spurious.
. /extra/lib.sh
ktap_plan 10

ktap_check "iperf: ntb0 up" ntb_up
ktap_check "iperf: carrier" wait_for 30 ntb_carrier
ntb_check_backend "iperf"
wait_for 30 ping -c 1 -W 1 "$PEER"

# iperf3 RUN-NAME ARGS...: host 0 serves, host 1 runs the client. Host 0
# starts the run's server once the probe's is done; the client gives it
# a second (SLOWDOWN seconds: on the debug kernel, at load 17-26, the
# run's client came before the server twice, in both runs of the test).
iperf() {
	name=$1
	shift
	if [ "$HOST" = 0 ]; then
		ktap_check "$name (server)" timeout 120 $IPERF -s -1
	else
		out=$(wait_for 30 $IPERF -c "$PEER" -t 1 >/dev/null && sleep "$SLOWDOWN" &&
			timeout 120 $IPERF -c "$PEER" "$@" 2>&1)
		rc=$?
		echo "$out" | grep -E 'sender|receiver|SUM' | sed 's/^/# /'
		[ $rc = 0 ] || echo "$out" | tail -n 3 | sed 's/^/# /'
		ktap_result "$name" $rc
	fi
}
if [ "$HOST" = 0 ]; then
	# The client's probe connection above is one server run too.
	timeout 120 $IPERF -s -1 > /dev/null
fi
tx_bytes() { cat /sys/class/net/ntb0/statistics/tx_bytes; }
tx_packets() { cat /sys/class/net/ntb0/statistics/tx_packets; }
# tcp_segs: this host's TCP RetransSegs and OutSegs.
tcp_segs() {
	awk '$1 == "Tcp:" && h { for (i = 1; i <= NF; i++) if (k[i] == "RetransSegs") r = $i; else if (k[i] == "OutSegs") o = $i; print r, o; exit }
		$1 == "Tcp:" { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }' /proc/net/snmp
}
downs() { cat /sys/class/net/ntb0/carrier_down_count; }
fast_retrans() { awk '$1 == "TcpExt:" && h { print $k; exit } $1 == "TcpExt:" { for (i = 1; i <= NF; i++) if ($i == "TCPFastRetrans") k = i; h = 1 }' /proc/net/netstat; }
segs0=$(tcp_segs) downs0=$(downs) fast0=$(fast_retrans)
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
# shellcheck disable=SC2046 # two pairs of numbers
set -- $segs0 $(tcp_segs)
retr=$(($3 - $1)) sent=$(($4 - $2)) fast=$(($(fast_retrans) - fast0))
name="tcp: $retr of $sent segments retransmitted (under 0.1%), $fast by loss detection (under 0.01%)"
if [ "$(downs)" != "$downs0" ]; then
	# A stalled VM can take the link down (the peer's heartbeat stops);
	# frames in flight are lost in the reset, and TCP rightly resends them.
	ktap_skip "$name" "the link went down during the runs"
else
	ktap_result "$name" \
		"$([ "$sent" -gt 0 ] && [ $((fast * 10000)) -lt "$sent" ] && [ $((retr * 1000)) -lt "$sent" ]; echo $?)"
fi
grep -E '^TcpExt:' /proc/net/netstat | awk 'NR == 1 { for (i = 2; i <= NF; i++) k[i] = $i; next }
	{ for (i = 2; i <= NF; i++) if (k[i] ~ /Retrans|Reorder|OFO|Prune|Collapsed|Timeouts|LossProbes|DSACKRecv$/ && $i != 0) printf "%s=%s ", k[i], $i; print "" }' |
	sed 's/^/# TcpExt: /'
[ "$HOST" = 0 ] && timeout 120 $IPERF -s -1 > /dev/null
iperf "udp: 100 Mbit/s, 8 s" -u -b 100M -t 8
ntb_barrier 6101

$ETHTOOL -S ntb0 | grep -v ": 0$" | sed "s/^/# /"
bad=$(ntb_stat_sum '^q[0-9]+_bad_')
ktap_result "iperf: no protocol errors" "$bad"
ktap_finished
