#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 1 -t 600 --host-peer $BUILD/ntbnet-hostile
#
# ntbnet against a hostile peer: one VM, and on the host the project's own
# peer (selftests/hostile, written from the ring protocol's document) as
# the other end of the virtual NTB. The peer first behaves: the link comes
# up and pings to its address are answered. Then the VM commands each
# attack in turn (an echo request of 1200 + N data bytes starts attack N;
# one of 1199 bytes is answered once the peer is idle again) and watches
# itself while the attack runs and after it ends (case "baseline": the
# same figures without an attack). The peer takes the link down when the
# VM's heartbeats stand still (port: 5 ticks, 500 ms; scratchpad: 1 s),
# limits it multiplies by the VM's slowdown as the VM's peer_timeout_ms
# is (vm.sh passes NTBNET_VM_SLOWDOWN), so that a KASAN VM busy with an
# attack is not taken for dead. The victim's own limits:
#   - RTNL answers: `ip link show` takes under 1 s longer than `true`
#     (times the VM's slowdown, SLOWDOWN: 3 on the debug kernel); where
#     the kernel has kprobe events (the debug kernel), RTNL itself is
#     traced and no one holds it for 1 s (times the slowdown) either;
#   - no stall on the console (RCU stall, soft lockup, clocksource "Long
#     readout"), no BUG or WARNING; the longest gap of a 50 ms sleep loop
#     is shown (on a loaded host it measures the host as much as the VM);
#   - at most 10 log lines a second from ntbnet and ntb_hw_ivshmem;
#   - the attack was seen where a counter can show it;
#   - the link recovers: carrier and loss-free pings once the attack ends.
# A case that failed only on RTNL time or "Long readout" runs once more
# (a loaded host deschedules a TCG VM now and then). Then a clean rmmod and
# kmemleak. See Documentation/testing.md.
. /extra/lib.sh

# number name counter-regex (- for none) needs reason: the case runs when
# `ethtool -S ntb0` has the counter NEEDS (- for always, ! for never) and
# is skipped with REASON otherwise, so that it runs as soon as the fix it
# waits for (which adds that counter) is in.
ATTACKS='
0 baseline - -
1 port-session - refused_max_frame issue 15 item 4: ntb_hw_ivshmem and ntbnet log every flap, 10-11 lines a second (limit 10)
2 port-heartbeat - -
3 port-link-enable - -
4 spad-garbage - -
5 session-cycle - refused_max_frame issue 15 item 4: renegotiation memsets the window under RTNL, logs not rate-limited
6 agreement-extremes ^peer_refused$ -
7 header-garbage ^peer_refused$ -
8 trigger-garbage ^peer_refused$ -
9 ethertypes ^q[0-9]+_bad_desc_gso$ -
10 gso-tiny-mss ^q[0-9]+_bad_desc_mss$ bad_desc_mss issue 15 item 3: a tiny GSO MSS freezes a forwarding host
11 flood-max ^q[0-9]+_rx_packets$ -
12 prod-jump ^q[0-9]+_bad_prod$ -
13 desc-garbage ^q[0-9]+_bad_desc_ -
14 cons-garbage ^q[0-9]+_bad_cons$ -
15 irq-storm ^q[0-9]+_interrupts$ -
16 window-garbage ^(q[0-9]+_bad_|peer_refused) -
17 max-frame-small ^refused_max_frame$ refused_max_frame issue 15 item 5: a max_frame below the MTU is a silent black hole
18 small-outbound - refused_max_frame issue 15 item 6: a writer that reaches less than the whole window is refused
'
n_attacks=$(echo "$ATTACKS" | grep -c .)
ktap_plan $((n_attacks + 7))

uptime_cs() { cut -d' ' -f1 /proc/uptime | tr -d .; }

# The RTNL limit, in 10 ms: 1 s, times the VM's slowdown. On the debug
# kernel `ip link show` ran 1.0-2.6 s longer than `true` in session-cycle,
# trigger-garbage, prod-jump and flood-max, but the trace of rtnl_mutex
# (below) showed that RTNL was not what it waited for: in the slowest
# runs RTNL was held at most 43 and 56 ms at a time (326 and 521 ms in all
# over the 15 s of the case), and the longest holds of any case, link
# restarts under RTNL (ntbnet's link work, the kernel's linkwatch), were
# 270-510 ms. The rest is the KASAN kernel running a program (fork, exec,
# page faults, a netlink dump) on CPUs the attack and a loaded host share,
# 3 times slower than the test kernel: what NTBNET_VM_SLOWDOWN scales.
rtnl_limit=$((100 * SLOWDOWN))

# RTNL traced where the kernel has kprobe events: every lock and unlock of
# rtnl_mutex with its task and time. rtnl_held prints the longest hold
# since the last call, in 10 ms, and who held it (a hold runs from the
# later of the lock call and the previous unlock).
T=/sys/kernel/debug/tracing
rtnl_traced=0
rtnl_trace_start() {
	local addr
	addr=0x$(grep ' rtnl_mutex$' /proc/kallsyms | cut -d' ' -f1)
	[ -w $T/kprobe_events ] && [ "$addr" != 0x ] || return 0
	echo 8192 > $T/buffer_size_kb
	echo "p:rtnl_in mutex_lock_nested lock=%di:x64" >> $T/kprobe_events &&
		echo "p:rtnl_kin mutex_lock_killable_nested lock=%di:x64" >> $T/kprobe_events &&
		echo "p:rtnl_try mutex_trylock lock=%di:x64" >> $T/kprobe_events &&
		echo "p:rtnl_out mutex_unlock lock=%di:x64" >> $T/kprobe_events || return 0
	for e in rtnl_in rtnl_kin rtnl_try rtnl_out; do
		echo "lock == $addr" > $T/events/kprobes/$e/filter &&
			echo 1 > $T/events/kprobes/$e/enable || return 0
	done
	echo 1 > $T/events/workqueue/workqueue_execute_start/enable
	echo 1 > $T/events/workqueue/workqueue_execute_end/enable
	rtnl_traced=1
}
rtnl_held() {
	[ $rtnl_traced = 1 ] || { echo "0 -"; return; }
	awk '
	{
		ts = ""
		for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = substr($i, 1, length($i) - 1); ev = $(i + 1); break }
		if (ts == "") next
		tp = ""
		for (j = 2; j < i; j++) if ($j ~ /^\[[0-9]+\]$/) { tp = $(j - 1); break }
		n = split(tp, a, "-"); pid = a[n]
		if (ev == "rtnl_in:" || ev == "rtnl_kin:" || ev == "rtnl_try:") ent[pid] = ts
		else if (ev == "rtnl_out:") {
			acq = (pid in ent && ent[pid] > last) ? ent[pid] : last
			if (ts - acq > max) { max = ts - acq; who = tp (wk[pid] == "" ? "" : ":" wk[pid]) }
			delete ent[pid]; last = ts
		}
		else if (ev == "workqueue_execute_start:") wk[pid] = $NF
		else if (ev == "workqueue_execute_end:") wk[pid] = ""
	}
	END { printf "%d %s\n", max * 100, who == "" ? "-" : who }' $T/trace
	echo > $T/trace
}

# probe FILE: until FILE.stop exists, time `ip link show` (RTNL) against
# `true`, both run by the static busybox right after each other (on a
# loaded host, even starting a program in a TCG VM can take a second; the
# difference is the wait for RTNL and the dump), and the gaps of a 50 ms
# sleep loop. FILE holds the largest `ip link show`, its largest excess
# over `true`, and the largest gap, in 10 ms.
probe() {
	rtnl=0 excess=0 gap=0 last=$(uptime_cs)
	while [ ! -e "$1.stop" ]; do
		a=$(uptime_cs)
		/bin/busybox ip link show ntb0 > /dev/null
		b=$(uptime_cs)
		/bin/busybox true
		c=$(uptime_cs)
		[ $((b - a)) -le "$rtnl" ] || rtnl=$((b - a))
		[ $((2 * b - a - c)) -le "$excess" ] || excess=$((2 * b - a - c))
		[ $((a - last)) -le "$gap" ] || gap=$((a - last))
		echo "$rtnl $excess $gap" > "$1"
		sleep 0.05
		last=$(uptime_cs)
	done
}

# Log lines of ntbnet and ntb_hw_ivshmem after dmesg line $1: the most in
# any one second, and the total.
log_rate() {
	dmesg | tail -n +"$(($1 + 1))" | grep -E 'ntbnet|ntb_hw_ivshmem' |
		sed -n 's/^\[ *\([0-9]*\)\.[0-9]*\].*/\1/p' | sort -n | uniq -c |
		awk '{ t += $1; if ($1 > m) m = $1 } END { print m + 0, t + 0 }'
}

# The link works again: a carrier and, within 60 s, five pings in a row
# without a loss (a loaded host may still flap the link once: a TCG VM
# descheduled for a second misses heartbeats).
recovered() {
	wait_for 30 ntb_carrier &&
		wait_for 60 sh -c "ping -c 5 -i 0.2 $PEER | grep -q ' 0% packet loss'"
}

# attack N NAME REGEX: attack N and every check of the victim; sets
# $hard (failures) and $timing (RTNL or CPU held too long: on a loaded
# host a VM can be descheduled for a while, so these get a second run).
attack() {
	n=$1 name=$2 regex=$3 hard= timing=
	mark=$(dmesg | wc -l)
	before=0
	[ "$regex" = - ] || before=$(ntb_stat_sum "$regex")
	rm -f /tmp/probe /tmp/probe.stop
	[ $rtnl_traced = 0 ] || echo > $T/trace
	probe /tmp/probe &
	ppid=$!
	t0=$(uptime_cs)
	if ! wait_for 60 ping -c 1 -W 2 -s $((1200 + n)) "$PEER"; then
		touch /tmp/probe.stop
		wait $ppid
		hard="the peer did not take the command"
		return
	fi
	# The attack starts 0.3 s after the reply and lasts 5 s (longer for
	# those with variants); traffic from the victim meanwhile. The peer
	# answers a status request once the attack ended and the link works.
	ping -q -i 0.2 -w 5 "$PEER" > /dev/null 2>&1 && during=0 || during=1
	wait_for 90 ping -c 1 -W 1 -s 1199 "$PEER" && recovered && rec=0 || rec=1
	t1=$(uptime_cs)
	touch /tmp/probe.stop
	wait $ppid
	read -r rtnl excess gap < /tmp/probe
	set -- $(rtnl_held)
	held=$1 holder=$2
	set -- $(log_rate "$mark")
	logmax=$1 loglines=$2
	stalls=$(dmesg | tail -n +"$((mark + 1))" |
		grep -E 'self-detected stall|soft lockup|BUG:|WARNING:|hung task|Call Trace' | head -n 3)
	# A late clocksource watchdog: a stall, or the host descheduled us.
	late=$(dmesg | tail -n +"$((mark + 1))" | grep -m1 'Long readout')
	seen=-
	[ "$regex" = - ] || seen=$(($(ntb_stat_sum "$regex") - before))
	ktap_diag "$name: ip link show max $((rtnl * 10)) ms (over true $((excess * 10)) ms)," \
		"sleep loop gap max $((gap * 10)) ms," \
		"log max $logmax/s ($loglines lines), counters +$seen, done after $(((t1 - t0) / 100)) s" \
		"$([ $rtnl_traced = 0 ] || echo ", RTNL held at most $((held * 10)) ms ($holder)")"
	[ "$excess" -lt $rtnl_limit ] || timing="$timing ip link show took ${rtnl}0 ms, ${excess}0 ms more than true;"
	[ "$held" -lt $rtnl_limit ] || timing="$timing RTNL held ${held}0 ms by $holder;"
	[ -z "$late" ] || timing="$timing console: $late;"
	[ -z "$stalls" ] || hard="$hard console: $stalls;"
	[ "$logmax" -le 10 ] || hard="$hard $logmax log lines in one second;"
	[ "$seen" = - ] || [ "$seen" -gt 0 ] || hard="$hard $regex did not move;"
	[ $rec = 0 ] || hard="$hard no recovery;"
	# A peer that reaches only part of the window is no attack: the link
	# must work with the smaller layout.
	[ "$name" != small-outbound ] || [ $during = 0 ] || hard="$hard no traffic during it;"
	[ -z "$hard$timing" ] ||
		dmesg | tail -n +"$((mark + 1))" | grep -E 'ntbnet|ntb_hw_ivshmem' | tail -n 5 | sed 's/^/# /'
}

hostile() {
	attack "$@"
	if [ -z "$hard" ] && [ -n "$timing" ]; then
		ktap_diag "$2: again, after:$timing"
		attack "$@"
	fi
	why=$hard$timing
	ktap_result "hostile: $2" "$([ -z "$why" ]; echo $?)" "$why"
}

rtnl_trace_start
ktap_diag "RTNL limit $((rtnl_limit * 10)) ms (slowdown $SLOWDOWN), rtnl_mutex traced: $([ $rtnl_traced = 1 ] && echo yes || echo no)"
ntb_leaks_reset
ktap_check "hostile: ntb0 up" ntb_up
ktap_check "hostile: carrier with the host peer" wait_for 60 ntb_carrier
ntb_check_backend "hostile"
ktap_check "hostile: the peer answers pings" wait_for 30 ping -c 1 -W 1 "$PEER"
ktap_check "hostile: loss-free pings" sh -c "ping -c 10 -i 0.2 $PEER | grep -q ' 0% packet loss'"

# gso-tiny-mss: the victim forwards 10.98.0.0/24 out of a veth without
# TSO or GSO, so that a GSO frame it accepted is segmented in software.
forward_setup() {
	echo 1 > /proc/sys/net/ipv4/ip_forward &&
		$IP link add vh0 type veth peer name vh1 &&
		$IP addr add 10.98.0.1/24 dev vh0 &&
		$IP link set vh1 up && $IP link set vh0 up &&
		$IP neigh add 10.98.0.2 lladdr 02:00:00:00:00:98 dev vh0 &&
		$ETHTOOL -K vh0 tso off gso off > /dev/null
}

echo "$ATTACKS" | grep . > /tmp/attacks
while read -r n name regex needs reason <&3; do
	if [ "$needs" = ! ] || { [ "$needs" != - ] &&
		! $ETHTOOL -S ntb0 | grep -qE "^ *(q[0-9]+_)?$needs:"; }; then
		ktap_skip "hostile: $name" "$reason"
	else
		[ "$name" != gso-tiny-mss ] || forward_setup
		hostile "$n" "$name" "$regex"
	fi
done 3< /tmp/attacks

ktap_check "hostile: rmmod" rmmod ntbnet
ktap_result "hostile: kmemleak finds nothing" "$(ntb_leaks)"
ktap_finished
