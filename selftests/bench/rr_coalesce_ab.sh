#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A/B in one boot: ntbnet's request/response latency (`ping -A -c 1000`,
# host1 to host0, as the benchmark's rr_p50) with adaptive moderation on
# (the default) and with coalescing off (`adaptive-rx off rx-usecs 0`),
# alternating, 4 rounds; prints one `RRAB round R MODE p50= p99= irqs=
# pkts= usecs=` line per run (interrupts and frames of host1's queues,
# and each queue's rx-usecs at the end). Documentation/performance.md.
#
#   NTBNET_BUILD=build/bench-tree/build selftests/vm.sh -n 2 -t 900 -o DIR \
#       selftests/bench/rr_coalesce_ab.sh selftests/lib.sh; grep -h RRAB DIR/host1.out
. /extra/lib.sh
ktap_plan 1
ntb_up; wait_for 30 ntb_carrier; wait_for 30 ping -c 1 -W 1 "$PEER"
mode() {
	case $1 in
	adapt) $ETHTOOL -C ntb0 adaptive-rx on ;;
	off) $ETHTOOL -C ntb0 adaptive-rx off rx-usecs 0 ;;
	esac
}
n=0
for r in 1 2 3 4; do
	for m in adapt off; do
		n=$((n + 1))
		mode $m
		ntb_barrier $((7400 + n)) 60
		if [ "$HOST" = 1 ]; then
			ping -A -c 10 "$PEER" > /dev/null 2>&1
			i0=$(ntb_stat_sum '^q[0-9]+_interrupts$'); p0=$(ntb_stat_sum '^q[0-9]+_rx_packets$')
			ping -A -c 1000 "$PEER" > /tmp/rr 2>&1
			i1=$(ntb_stat_sum '^q[0-9]+_interrupts$'); p1=$(ntb_stat_sum '^q[0-9]+_rx_packets$')
			awk '/time=/ { t = $0; sub(/.*time=/, "", t); printf "%d\n", t * 1000 + 0.5 }' /tmp/rr | sort -n > /tmp/rr.us
			c=$(wc -l < /tmp/rr.us)
			echo "RRAB round $r $m p50=$(sed -n "$(((c * 50 + 99) / 100))p" /tmp/rr.us) p99=$(sed -n "$(((c * 99 + 99) / 100))p" /tmp/rr.us) n=$c irqs=$((i1 - i0)) pkts=$((p1 - p0)) usecs=$($ETHTOOL --per-queue ntb0 queue_mask 0x3 --show-coalesce 2>/dev/null | awk '$1 == "rx-usecs:" {printf "%s,", $2}')"
		fi
		ntb_barrier $((7500 + n)) 120
	done
done
ktap_result "rr_coalesce_ab: 8 runs" 0
ktap_finished
