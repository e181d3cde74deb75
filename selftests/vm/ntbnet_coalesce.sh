#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
#
# ntbnet: receive interrupt coalescing (`ethtool -C ntb0 adaptive-rx`,
# `rx-usecs`, `rx-frames`). Adaptive moderation (lib/dim) is on by default.
# At idle every frame raises its own interrupt: a frame after a quiet spell
# never waits for a timer. Under a TCP stream DIM moves the receiving
# queue's level off "none" (ethtool --per-queue shows it, ethtool -S counts
# the moves) and there are fewer interrupts per frame than at idle. With a
# fixed setting, held-back interrupts end by the frame count or by the
# timer (whose polls ethtool -S counts) and TCP still flows; bad settings
# are refused. Host 1 coalesces and receives (iperf3 -R); host 0 sends.
. /extra/lib.sh
if [ "$HOST" = 0 ]; then ktap_plan 4; else ktap_plan 23; fi

ktap_check "coalesce: ntb0 up" ntb_up
ktap_check "coalesce: carrier" wait_for 30 ntb_carrier
ntb_check_backend "coalesce"
wait_for 30 ping -c 1 -W 1 "$PEER"

if [ "$HOST" = 0 ]; then
	# Serves every iperf3 run of host 1 until it says it is done.
	timeout 280 $IPERF -s > /dev/null 2>&1 &
	srv=$!
	ktap_check "coalesce: host 1 finished" ntb_barrier 7311 280
	kill $srv 2>/dev/null
	ktap_finished
	exit
fi

# coal FIELD: a field of `ethtool -c ntb0` ("rx-usecs:"; "Adaptive": RX's).
coal() { $ETHTOOL -c ntb0 | awk -v k="$1" '$1 == k { print ($2 == "RX:" ? $3 : $2) }'; }
# The sums over the queues in use of a per-queue counter of ethtool -S.
irqs() { ntb_stat_sum '^q[0-9]+_interrupts$'; }
rxp() { ntb_stat_sum '^q[0-9]+_rx_packets$'; }
polls() { ntb_stat_sum '^q[0-9]+_rx_coal_timer_polls$'; }
moves() { ntb_stat_sum '^q[0-9]+_rx_dim_moves$'; }
# The largest rx-usecs that any queue uses now (ethtool --per-queue).
perq_usecs() {
	$ETHTOOL --per-queue ntb0 queue_mask 0x3 --show-coalesce 2>/dev/null |
		awk '$1 == "rx-usecs:" && $2 > m { m = $2 } END { print m + 0 }'
}
# stream SECONDS: an iperf3 run that host 0 sends and host 1 receives,
# with the largest per-queue rx-usecs seen every half second in /tmp/maxus.
stream() {
	echo 0 > /tmp/maxus
	(while :; do
		u=$(perq_usecs)
		[ "$u" -gt "$(cat /tmp/maxus)" ] && echo "$u" > /tmp/maxus
		sleep 0.5
	done) &
	mon=$!
	out=$(wait_for 30 $IPERF -c "$PEER" -t 1 >/dev/null && sleep 1 &&
		timeout 120 $IPERF -c "$PEER" -R -t "$1" 2>&1)
	rc=$?
	kill $mon 2>/dev/null
	wait $mon 2>/dev/null
	echo "$out" | grep -E 'sender|receiver' | sed 's/^/# /'
	[ $rc = 0 ] && echo "$out" | grep -q receiver
}
# per_kpkt I0 P0: interrupts per 1000 received frames since I0 and P0.
per_kpkt() { echo $(( ($(irqs) - $1) * 1000 / ($(rxp) - $2 + 1) )); }

ktap_result "coalesce: adaptive-rx on by default ($(coal Adaptive))" \
	"$([ "$(coal Adaptive)" = on ]; echo $?)"

# Idle: a ping every 0.2 s; each reply must come with its own interrupt.
i0=$(irqs) p0=$(rxp) t0=$(polls)
ping -c 20 -i 0.2 -W 2 "$PEER" > /tmp/ping.idle
ktap_result "coalesce: pings answered at idle" \
	"$(grep -q ' 0% packet loss' /tmp/ping.idle; echo $?)"
di=$(( $(irqs) - i0 )) dp=$(( $(rxp) - p0 ))
idle=$(per_kpkt "$i0" "$p0")
ktap_diag "idle: $dp frames received, $di interrupts, $(( $(polls) - t0 )) timer polls; $(tail -n 1 /tmp/ping.idle)"
ktap_result "coalesce: at idle every frame raised its interrupt ($di for $dp frames: none waited for a timer)" \
	"$([ $((di * 10)) -ge $((dp * 9)) ] && [ "$dp" -ge 20 ]; echo $?)"

# A stream: DIM moves the receiving queue's level.
i0=$(irqs) p0=$(rxp) t0=$(polls) m0=$(moves)
stream 6
ktap_result "coalesce: TCP received with adaptive moderation" $?
busy=$(per_kpkt "$i0" "$p0")
ktap_diag "adaptive: $busy interrupts per 1000 frames (idle: $idle), $(( $(polls) - t0 )) timer polls, $(( $(moves) - m0 )) level changes, largest per-queue rx-usecs seen $(cat /tmp/maxus)"
ktap_result "coalesce: DIM changed a queue's level ($(( $(moves) - m0 )) times)" \
	"$([ $(( $(moves) - m0 )) -gt 0 ]; echo $?)"
ktap_result "coalesce: ethtool --per-queue showed a level above none (rx-usecs $(cat /tmp/maxus))" \
	"$([ "$(cat /tmp/maxus)" -gt 0 ]; echo $?)"
ktap_result "coalesce: fewer interrupts per frame under a stream ($busy per 1000) than at idle ($idle)" \
	"$([ "$busy" -lt "$idle" ]; echo $?)"

# A fixed setting.
ktap_check "coalesce: ethtool -C ntb0 adaptive-rx off rx-usecs 2000 rx-frames 16" \
	$ETHTOOL -C ntb0 adaptive-rx off rx-usecs 2000 rx-frames 16
ktap_result "coalesce: ethtool -c reads adaptive $(coal Adaptive), rx-usecs $(coal rx-usecs:), rx-frames $(coal rx-frames:)" \
	"$([ "$(coal Adaptive)" = off ] && [ "$(coal rx-usecs:)" = 2000 ] && [ "$(coal rx-frames:)" = 16 ]; echo $?)"
ktap_result "coalesce: rx-usecs 20000 refused (over 10 ms)" \
	"$($ETHTOOL -C ntb0 rx-usecs 20000 >/dev/null 2>&1 && echo 1 || echo 0)"
ktap_result "coalesce: rx-frames 4096 refused (over half the largest ring)" \
	"$($ETHTOOL -C ntb0 rx-frames 4096 >/dev/null 2>&1 && echo 1 || echo 0)"
ktap_check "coalesce: pings answered with a fixed setting" ping -c 5 -W 2 "$PEER"
i0=$(irqs) p0=$(rxp) t0=$(polls)
stream 4
ktap_result "coalesce: TCP received with rx-usecs 2000 rx-frames 16" $?
fixed=$(per_kpkt "$i0" "$p0")
ktap_diag "fixed: $fixed interrupts per 1000 frames, $(( $(polls) - t0 )) timer polls, per-queue rx-usecs $(cat /tmp/maxus)"
ktap_result "coalesce: the timer ended held-back interrupts ($(( $(polls) - t0 )) polls) and ethtool --per-queue shows 2000" \
	"$([ $(( $(polls) - t0 )) -gt 0 ] && [ "$(cat /tmp/maxus)" = 2000 ]; echo $?)"

# Off, for comparison (diagnostics: the same stream, an interrupt per frame
# unless NAPI is still polling).
ktap_check "coalesce: ethtool -C ntb0 rx-usecs 0 (off)" $ETHTOOL -C ntb0 rx-usecs 0
i0=$(irqs) p0=$(rxp) t0=$(polls)
stream 6
ktap_result "coalesce: TCP received with coalescing off" $?
ktap_diag "off: $(per_kpkt "$i0" "$p0") interrupts per 1000 frames, $(( $(polls) - t0 )) timer polls"
ktap_result "coalesce: no timer poll with coalescing off ($(( $(polls) - t0 )))" \
	"$([ $(( $(polls) - t0 )) = 0 ]; echo $?)"

ktap_check "coalesce: ethtool -C ntb0 adaptive-rx on" $ETHTOOL -C ntb0 adaptive-rx on
ktap_result "coalesce: adaptive again ($(coal Adaptive))" "$([ "$(coal Adaptive)" = on ]; echo $?)"
ktap_check "coalesce: told host 0" ntb_barrier 7311 60
ktap_finished
