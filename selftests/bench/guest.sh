#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of selftests/bench.sh (`make bench`), run on both hosts of
# one two-host boot: first ntb_perf's raw bandwidth (the link limit), then
# ROUNDS rounds of the kernel's ntb_transport + ntb_netdev and ntbnet in
# turn, on the same NTB, with the same workloads for each. The NTB is the
# virtual one (ntb_hw_ivshmem) or the Switchtec model (lib.sh tells them
# apart); DRIVERS in bench.conf lists a round's drivers in order, of
# ntb_netdev, ntb_netdev_msi (ntb_transport with use_msi=1) and ntbnet
# (default "ntb_netdev ntbnet").
#
# Roles: host1 drives and measures; host0 serves iperf3 and follows. iperf3
# runs in reverse mode (-R: host0 sends), so that the host that measures is
# the receiver: its interrupts, CPU time and packet counts are read locally.
#
# The only network between the hosts is the NTB link itself, so they meet
# over the link while it is up (`meet`: host0 listens, host1 connects), and
# across a change of NTB client by carrier and timing: the NTB core binds
# each ntb_dev to one client at a time, and the two hosts' clients must not
# talk to each other. The host that stops first (host1 for the drivers,
# host0 for ntb_perf) unloads its client and waits SETTLE seconds before
# loading the next one; the other unloads as soon as it sees the peer gone
# (carrier off, ntb_perf's link down) and loads the next client at once.
#
# A lost link: a TCG vCPU that stalls for half a second (a loaded host) can
# make ntb_hw_ivshmem on the other host report the link down, on that side
# only; ntb_transport then never comes back by itself. So a host whose
# carrier stays off for 5 s in the middle of a phase, or whose link does not
# come up when it loads the driver, reloads the driver
# (which takes the link down on the peer's side too, and both renegotiate),
# and host1 retries a run that failed, or in which its carrier went down
# (carrier_down_count), once the peer answers again, within RETRY_LIMIT
# seconds. Each such event is a `# diagnostic:` line.
#
# Settings come from /extra/bench.conf (written by bench.sh). Output:
#   bench-result DRIVER ROUND METRIC VALUE   one figure, for bench.sh
#   # ...                                    progress and diagnostics
#   bench: FAIL (step: X): ...               on failure, then exit 1
# shellcheck source=selftests/lib.sh
. /extra/lib.sh
# shellcheck disable=SC1091 # written by bench.sh
. /extra/bench.conf
DRIVERS=${DRIVERS:-ntb_netdev ntbnet}

SS=/usr/bin/ss
STEP=setup
PORT=7100 # meeting points: one port each, in the same order on both hosts

now() { cut -d' ' -f1 /proc/uptime; }
note() { echo "# host$HOST $(now)s: $*"; }
fail() {
	echo "bench: FAIL (step: $STEP): $*"
	if [ -n "${DEV:-}" ] && [ -e "/sys/class/net/$DEV" ]; then
		$IP -s link show "$DEV" | sed 's/^/# /'
		[ "$DRV" != ntbnet ] || $ETHTOOL -S "$DEV" | grep -v ': 0$' | sed 's/^/# /'
		cat /sys/kernel/debug/ntb_transport/*/qp0/stats 2>/dev/null | grep -E 'rx_|tx_|Link' | sed 's/^/# /'
	fi
	grep -E 'ntb' /proc/interrupts | sed 's/^/# /'
	dmesg | tail -n 40 | sed 's/^/# dmesg: /'
	exit 1
}
result() {
	echo "bench-result $1 $2 $3 $4"
	note "round $2, $1: $3 = $4"
}

# meet SECONDS: both hosts wait here for each other, over the link (and
# reload the driver if the link is lost meanwhile: watch_link).
meet() {
	PORT=$((PORT + 1))
	if [ "$HOST" = 0 ]; then
		timeout "$1" nc -l -p "$PORT" -e /bin/true < /dev/null &
		nc=$!
		while kill -0 $nc 2>/dev/null; do
			watch_link
			sleep 0.5
		done
		wait $nc
	else
		m_end=$(($(cut -d. -f1 /proc/uptime) + $1))
		until timeout 5 nc "$PEER" "$PORT" < /dev/null > /dev/null 2>&1; do
			[ "$(cut -d. -f1 /proc/uptime)" -lt "$m_end" ] || return 1
			watch_link
			sleep 0.5
		done
	fi
}

# watch_link: the driver is reloaded once the carrier has been off 5 s (a
# shorter drop is a renegotiation).
OFF_SINCE=
watch_link() {
	if carrier; then
		OFF_SINCE=
		return 0
	fi
	t=$(cut -d. -f1 /proc/uptime)
	[ -n "$OFF_SINCE" ] || OFF_SINCE=$t
	[ $((t - OFF_SINCE)) -ge 5 ] || return 0
	note "diagnostic: $DRV round $R: $DEV carrier off for 5 s: reloading $DRV"
	OFF_SINCE=
	reload
}

carrier() { [ "$(cat "/sys/class/net/$DEV/carrier" 2>/dev/null)" = 1 ]; }
nocarrier() { ! carrier; }
# new_netdevs: the network interfaces that came since save_netdevs.
all_netdevs() {
	for n in /sys/class/net/*; do
		echo "${n##*/}"
	done
}
save_netdevs() { all_netdevs > /tmp/netdevs.before; }
new_netdevs() { all_netdevs | grep -vxF -f /tmp/netdevs.before; }
one_netdev() { [ "$(new_netdevs | wc -l)" = 1 ]; }

# load DRIVER: load the client and bring its interface up, addressed, with
# a carrier and the peer answering; sets DEV. A link lost on the way (see
# above) gets the driver reloaded, within LOAD_LIMIT seconds.
load() {
	end=$(($(cut -d. -f1 /proc/uptime) + LOAD_LIMIT))
	while :; do
		load_once "$1"
		STEP="$1: carrier"
		if wait_for 30 carrier; then
			STEP="$1: peer answers"
			wait_for 20 ping -c 1 -W 1 "$PEER" && break
			why="$PEER does not answer on $DEV within 20 s"
		else
			why="no carrier on $DEV within 30 s"
		fi
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || fail "$why, again and again for $LOAD_LIMIT s"
		note "diagnostic: $1: $why: reloading $1"
		unload "$1"
		sleep 2
	done
	note "$1: $DEV up, mtu $(cat "/sys/class/net/$DEV/mtu"), device $(readlink "/sys/class/net/$DEV/device")"
	irq_backend "$1"
}
# irq_backend DRIVER: which interrupts the driver's queues use, as a
# `bench-backend DRIVER BACKEND` line: ntbnet's backend (msi or db, from
# its log line), ntb_transport's msi (use_msi=1, when its log says so for
# this load) or db.
MSI_LOADS=0
irq_backend() {
	case $1 in
	ntbnet) b=$(ntb_backend) ;;
	*)
		n=$(dmesg | grep -c 'Using MSI interrupts for QP0')
		if [ "$n" -gt "$MSI_LOADS" ]; then b=msi; else b=db; fi
		MSI_LOADS=$n
		;;
	esac
	echo "bench-backend $1 ${b:-unknown}"
}
load_once() {
	STEP="$1: load"
	save_netdevs
	case $1 in
	ntb_netdev) modprobe -a ntb_transport ntb_netdev || fail "modprobe ntb_transport ntb_netdev" ;;
	ntb_netdev_msi)
		{ modprobe ntb_transport use_msi=1 && modprobe ntb_netdev; } ||
			fail "modprobe ntb_transport use_msi=1 ntb_netdev"
		;;
	ntbnet) modprobe ntbnet || fail "modprobe ntbnet" ;;
	esac
	wait_for 10 one_netdev || fail "expected one network interface, new: $(new_netdevs | tr "\n" " ")"
	DEV=$(new_netdevs)
	echo "$DEV" > /tmp/dev
	mtu=$MTU
	if [ "$mtu" = max ]; then
		# ntb_netdev's default is its maximum.
		[ "$1" = ntbnet ] && mtu=65521 || mtu=
	fi
	if [ -n "$mtu" ]; then
		$IP link set "$DEV" mtu "$mtu" || fail "ip link set $DEV mtu $mtu"
	fi
	{ $IP addr add "$ME/24" dev "$DEV" && $IP link set "$DEV" up; } || fail "address $ME on $DEV"
}

unload() {
	case $1 in
	ntb_netdev | ntb_netdev_msi) timeout 60 rmmod ntb_netdev ntb_transport ;;
	ntbnet) timeout 60 rmmod ntbnet ;;
	ntb_perf) timeout 60 rmmod ntb_perf ;;
	esac || fail "rmmod $1"
}

# leave DRIVER [last]: unload a network driver; host1 first, host0 once its
# carrier is off (host1 is gone). host1 then waits SETTLE seconds, in which
# host0 unloads, before it loads the next driver.
leave() {
	STEP="$1: unload"
	if [ "$HOST" = 1 ]; then
		unload "$1"
		[ "$2" = last ] || sleep "$SETTLE"
	else
		wait_for 30 nocarrier ||
			note "diagnostic: $DEV keeps its carrier 30 s after the peer unloaded $1"
		unload "$1"
	fi
	note "$1 unloaded"
}

# --- Host0's side channel -----------------------------------------------------
#
# Host1 measures, but some figures are host0's: the sender's CPU time and
# retransmissions (iperf3 -R: host0 sends), and its half of each profile.
# Host0 answers one-line requests on SIDE_PORT over the link (nc -e on both
# ends: busybox nc fed on stdin may drop the answer):
#   snap             -> "<busy jiffies> <tx_bytes> <RetransSegs> <OutSegs>"
#   perf NAME SECS   -> starts `perf record` for SECS seconds, "ok"
SIDE_PORT=7999
# The functions both this script and the side channel's handler use.
cat > /tmp/side.fns <<'EOF'
PERF_BIN=/usr/bin/perf
# tx_snap: this host's busy jiffies (USER_HZ), the device's tx_bytes, and
# TCP's RetransSegs and OutSegs.
tx_snap() {
	printf '%s %s ' "$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat)" \
		"$(cat "/sys/class/net/$(cat /tmp/dev 2>/dev/null)/statistics/tx_bytes" 2>/dev/null || echo 0)"
	awk '$1 == "Tcp:" && h { for (i = 1; i <= NF; i++) if (k[i] == "RetransSegs") r = $i; else if (k[i] == "OutSegs") o = $i; print r, o; exit }
		$1 == "Tcp:" { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }' /proc/net/snmp
}
# prof_start NAME SECS: perf record of every CPU with call graphs, in the
# background, for SECS seconds.
prof_start() {
	[ -x "$PERF_BIN" ] || return 0
	(timeout 120 "$PERF_BIN" record -q -a -g -e cpu-clock -F "$PROF_HZ" -o "/tmp/prof.$1" -- sleep "$2" \
		> "/tmp/prof.$1.log" 2>&1 &)
}
EOF
# shellcheck disable=SC1091 # written just above
. /tmp/side.fns

# prof_fold NAME: the profile as folded stacks (`comm;outermost;...;innermost
# count`, a flame graph's input), one line each prefixed with
# `bench-prof hostN NAME`, once its perf record has ended.
prof_fold() {
	f=/tmp/prof.$1
	# perf writes the file when it ends; poll slowly, the polls are sampled
	n=0
	while pidof perf > /dev/null && [ $n -lt 60 ]; do
		sleep 1
		n=$((n + 1))
	done
	[ -s "$f" ] || { note "diagnostic: no profile $1: $(tail -n 2 "$f.log" 2>/dev/null | tr '\n' ' ')"; return 0; }
	# Module functions that perf leaves [unknown] (it finds no symbols for
	# the modules here) are looked up in /proc/kallsyms (root, addresses
	# shown with kptr_restrict 0), text symbols only, sorted by address;
	# Rust's v0-mangled names (perf here does not demangle them) are
	# shortened to their path (crate::mod::Type::fn).
	echo 0 > /proc/sys/kernel/kptr_restrict 2>/dev/null
	awk '$2 ~ /^[tT]$/ && $4 ~ /^\[/ { print $1, $3 }' /proc/kallsyms | LC_ALL=C sort > /tmp/modsyms
	"$PERF_BIN" script -i "$f" -F comm,ip,sym 2>/dev/null | awk -v tag="bench-prof host$HOST $1" -v syms=/tmp/modsyms '
		BEGIN { while ((getline l < syms) > 0) { split(l, f, " "); m++; ma[m] = f[1]; mn[m] = f[2] } }
		function lookup(ip,   lo, hi, mid) {
			while (length(ip) < 16) ip = "0" ip
			lo = 1; hi = m
			if (m == 0 || ip < ma[1]) return "[unknown]"
			while (lo < hi) { mid = int((lo + hi + 1) / 2); if (ma[mid] <= ip) lo = mid; else hi = mid - 1 }
			return demangle(mn[lo])
		}
		function demangle(s,   out, i, c, p, len, id) {
			if (substr(s, 1, 2) != "_R") return s
			out = ""; i = 3
			while (i <= length(s)) {
				c = substr(s, i, 1); p = substr(s, i - 1, 1)
				if (c == "B" || (c == "s" && (p == "C" || p == "M" || p == "X" || p == "Y" || substr(s, i - 2, 1) == "N"))) {
					while (i <= length(s) && substr(s, i, 1) != "_") i++
					i++; continue
				}
				if (c ~ /[0-9]/) {
					len = 0
					while (substr(s, i, 1) ~ /[0-9]/) { len = len * 10 + substr(s, i, 1); i++ }
					if (substr(s, i, 1) == "_") i++
					id = substr(s, i, len); i += len
					out = out (out == "" ? "" : "::") id
					continue
				}
				i++
			}
			return out == "" ? s : out
		}
		function emit() { if (comm != "") { s = comm; for (i = n; i >= 1; i--) s = s ";" fr[i]; c[s]++ } comm = ""; n = 0 }
		/^[^ \t]/ { emit(); comm = $1; gsub(/;/, "_", comm); next }
		/^[ \t]*$/ { emit(); next }
		{ ip = $1; sym = $0; sub(/^[ \t]*[0-9a-f]+ /, "", sym); sub(/ \([^)]*\)$/, "", sym); sub(/\+0x[0-9a-f]+$/, "", sym)
			sym = sym == "[unknown]" ? lookup(ip) : demangle(sym)
			gsub(/;/, "_", sym); fr[++n] = sym }
		END { emit(); for (s in c) print tag, s, c[s] }'
	rm -f "$f"
}
side_serve() {
	cat > /tmp/side.sh <<-'EOF'
	#!/bin/sh
	. /extra/bench.conf
	. /tmp/side.fns
	read -r cmd a b
	case $cmd in
	snap) tx_snap ;;
	perf) prof_start "$a" "$b"; echo ok ;;
	*) echo "unknown request $cmd" ;;
	esac
	EOF
	chmod +x /tmp/side.sh
	(while :; do nc -l -p "$SIDE_PORT" -e /tmp/side.sh < /dev/null > /dev/null 2>&1; sleep 0.1; done &)
}
# side REQUEST...: host0's answer (host1).
side() {
	printf '#!/bin/sh\necho "%s"\nread -r r\necho "$r" > /tmp/side.answer\n' "$*" > /tmp/side.ask
	chmod +x /tmp/side.ask
	rm -f /tmp/side.answer
	timeout 10 nc "$PEER" "$SIDE_PORT" -e /tmp/side.ask < /dev/null > /dev/null 2>&1
	cat /tmp/side.answer 2>/dev/null
}

# --- Link limit: ntb_perf ----------------------------------------------------
perf_load() {
	modprobe ntb_perf total_order="$PERF_ORDER" max_mw_size=2097152 || fail "modprobe ntb_perf"
	for D in /sys/kernel/debug/ntb_perf/*; do break; done
	[ -d "$D" ] || fail "no ntb_perf directory in debugfs"
}
perf_link() { grep -q "Link status: $1" "$D/info"; }
perf_inbuf() { ! grep -q 'In buffer addr: unallocated' "$D/info"; }
perf_outbuf() { ! grep -q 'Out buffer xlat 0x0000000000000000' "$D/info"; }
# perf_handshake: until this side's buffers are set up. ntb_perf's
# handshake can drop a command on a switch (selftests/vm/switchtec_perf.sh):
# the side left without its inbound buffer reloads ntb_perf, and both
# sides start again. host1 waits longer before it reloads (a reload while
# host0 measures would spoil the figure), and stops waiting once host0 is
# gone (done, its ntb_perf unloaded).
perf_handshake() {
	h_end=$(($(cut -d. -f1 /proc/uptime) + 300))
	patience=20
	[ "$HOST" = 0 ] || patience=60
	while [ "$(cut -d. -f1 /proc/uptime)" -lt "$h_end" ]; do
		if wait_for "$patience" perf_inbuf; then
			[ "$HOST" != 0 ] || wait_for 20 perf_outbuf || continue
			return 0
		fi
		if ! perf_link up; then
			[ "$HOST" = 0 ] || return 0
			continue
		fi
		note "diagnostic: ntb_perf: no inbound buffer $patience s after link up: reloading ntb_perf"
		unload ntb_perf
		perf_load
		wait_for 120 perf_link up || [ "$HOST" = 0 ] || return 0
	done
	fail "ntb_perf's buffers not set up within 300 s"
}
perf() {
	STEP="ntb_perf: load"
	perf_load
	STEP="ntb_perf: link up"
	wait_for 60 perf_link up || fail "ntb_perf link not up within 60 s"
	STEP="ntb_perf: handshake"
	[ "$NTB_HW" = ivshmem ] || perf_handshake
	if [ "$HOST" = 0 ]; then
		# Three runs, the median: one run is a fraction of a second, which
		# a stalled vCPU can spoil.
		: > /tmp/perf
		for i in 1 2 3; do
			STEP="ntb_perf: run $i"
			timeout 200 sh -c "echo 0 > $D/run" || fail "ntb_perf run failed or timed out: $(cat "$D/run" 2>&1)"
			sed 's/^/# ntb_perf: /' "$D/run"
			# The threads run at once: the sum of their rates; bytes/us * 8 = Mbit/s.
			mbit=$(awk '/copied .* bytes in .* usecs/ { for (i = 1; i < NF; i++) {
					if ($(i + 1) == "bytes") b = $i; if ($(i + 1) == "usecs,") u = $i }
					if (u > 0) s += b * 8 / u } END { if (s > 0) printf "%.0f\n", s }' "$D/run")
			[ -n "$mbit" ] || fail "no bandwidth in ntb_perf's output"
			echo "$mbit" >> /tmp/perf
		done
		note "ntb_perf: $(tr '\n' ' ' < /tmp/perf)Mbit/s"
		result ntb_perf 0 link_limit "$(sort -n /tmp/perf | sed -n 2p)"
		STEP="ntb_perf: unload"
		unload ntb_perf
		sleep "$SETTLE"
	else
		STEP="ntb_perf: serve the peer's test"
		if [ "$NTB_HW" = ivshmem ]; then
			wait_for 240 perf_link down || fail "ntb_perf link still up after 240 s"
		else
			# Last in the boot: host0 is done when its link stays
			# down, not when it reloads ntb_perf (perf_handshake).
			gone() { perf_link down && ! wait_for 10 perf_link up; }
			wait_for 300 gone || fail "ntb_perf link still up after 300 s"
		fi
		unload ntb_perf
	fi
	note "ntb_perf unloaded"
}

# --- Measurements (host1) -----------------------------------------------------

# attempt WHAT COMMAND...: a run of a workload, until it succeeds with the
# carrier on throughout (a link that went down and came back, e.g. ntbnet
# renegotiating after the peer stalled, spoils the figures). Between tries
# it waits for the link, reloading the driver if the carrier stays off 5 s,
# and for the peer; it gives up RETRY_LIMIT seconds after the first failure.
carrier_downs() { cat "/sys/class/net/$DEV/carrier_down_count"; }
attempt() {
	what=$1
	shift
	a_end=
	while :; do
		downs=$(carrier_downs)
		if "$@"; then
			[ "$(carrier_downs)" = "$downs" ] && return 0
			why="the link went down during $what"
		else
			why="$what failed"
		fi
		t=$(cut -d. -f1 /proc/uptime)
		[ -n "$a_end" ] || a_end=$((t + RETRY_LIMIT))
		[ "$t" -lt "$a_end" ] || fail "$why, again and again for $RETRY_LIMIT s"
		note "diagnostic: $DRV round $R: $why; retrying"
		if ! wait_for 5 carrier; then
			note "diagnostic: $DRV round $R: $DEV carrier off 5 s: reloading $DRV"
			reload
		fi
		wait_for 60 ping -c 1 -W 1 "$PEER" || fail "$PEER does not answer on $DEV within 60 s"
		sleep 3 # host0 may be restarting its iperf3 server
	done
}

# iperf FILE ARGS...: one iperf3 client run, reverse (host0 sends).
iperf() {
	f=$1
	shift
	timeout $((T + WARM + UDP_T + 60)) "$IPERF" -c "$PEER" -R -f m "$@" > "$f" 2>&1 &&
		grep -q 'receiver$' "$f" && return 0
	tail -n 4 "$f" | sed 's/^/# iperf3: /'
	return 1
}
client() { attempt "iperf3 $*" iperf "$@"; }

# rate FILE [receiver|sender]: Mbit/s of the last such line (the [SUM] line
# with -P).
rate() {
	awk -v w="${2:-receiver}" '$NF == w { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") r = $(i - 1) }
		END { print r + 0 }' "$1"
}

# loss FILE: the percentage of datagrams lost, from the receiver line.
loss() {
	awk '$NF == "receiver" { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\/[0-9]+$/) {
			split($i, a, "/"); l = a[2] > 0 ? 100 * a[1] / a[2] : 100 } }
		END { if (l == "") l = 100; printf "%.2f\n", l }' "$1"
}

# snap: the device's receive interrupts, the NTB's hardware interrupts
# (HW_RE), rx packets, rx bytes, busy jiffies (USER_HZ) of all CPUs.
snap() {
	awk -v re="$IRQ_RE" -v hw="$HW_RE" 'NR == 1 { n = NF; next }
		{ s = 0; for (i = 2; i <= n + 1; i++) s += $i }
		$NF ~ re { d += s } $NF ~ hw { h += s }
		END { printf "%d %d ", d, h }' /proc/interrupts
	printf '%s %s ' "$(cat "/sys/class/net/$DEV/statistics/rx_packets")" \
		"$(cat "/sys/class/net/$DEV/statistics/rx_bytes")"
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# TCP, 1 stream; interrupts and CPU time sampled inside the measured span,
# on both hosts (host0's through the side channel), and host0's TCP
# retransmissions over the whole run.
tcp1_run() {
	r0=$(side snap)
	iperf /tmp/tcp1 -O "$WARM" -t "$T" &
	pid=$!
	sleep "$SAMPLE_START"
	a=$(snap) sa=$(side snap)
	sleep "$SAMPLE_LEN"
	b=$(snap) sb=$(side snap)
	wait $pid || return 1
	r1=$(side snap)
}
# per_gb JIFFIES_DELTA BYTES_DELTA: CPU-seconds per 10^9 bytes.
per_gb() { awk -v j="$1" -v b="$2" 'BEGIN { if (b > 1e6) printf "%.2f\n", j / 100 / (b / 1e9) }'; }
# retrans NAME SNAP0 SNAP1: host0's retransmissions over a run, per GB sent
# and as a share of the segments sent (in percent).
retrans() {
	rwhat=$1
	# shellcheck disable=SC2086 # two snapshots of four numbers each
	set -- $2 $3
	if [ $# != 8 ]; then
		note "diagnostic: no retransmission counts from host0 ($2 / $3)"
		return 0
	fi
	rs=$(($7 - $3)) segs=$(($8 - $4)) by=$(($6 - $2))
	note "$DRV round $R: $rwhat: host0 retransmitted $rs of $segs segments, sent $by bytes"
	[ "$by" -gt 1000000 ] && result "$DRV" "$R" "${rwhat}_retr_per_gb" "$(awk -v r="$rs" -v b="$by" 'BEGIN { printf "%.1f\n", r / (b / 1e9) }')"
	[ "$segs" -gt 0 ] && result "$DRV" "$R" "${rwhat}_retr_pct" "$(awk -v r="$rs" -v s="$segs" 'BEGIN { printf "%.4f\n", 100 * r / s }')"
	return 0
}
tcp1() {
	STEP="$DRV round $R: tcp 1 stream"
	attempt "iperf3 -t $T" tcp1_run
	result "$DRV" "$R" tcp1 "$(rate /tmp/tcp1)"
	retrans tcp1 "$r0" "$r1"
	# shellcheck disable=SC2086 # two snapshots of five numbers each
	set -- $a $b
	[ $# = 10 ] || fail "bad counter snapshot: $a / $b"
	pk=$(($8 - $3))
	if [ "$pk" -gt 0 ]; then
		result "$DRV" "$R" irq_per_kpkt "$(awk -v i=$(($6 - $1)) -v p=$pk 'BEGIN { printf "%.1f\n", 1000 * i / p }')"
		result "$DRV" "$R" irq_hw_per_kpkt "$(awk -v i=$(($7 - $2)) -v p=$pk 'BEGIN { printf "%.1f\n", 1000 * i / p }')"
	else
		note "diagnostic: no packets received in the sampling window"
	fi
	by=$(awk -v a="$4" -v b="$9" 'BEGIN { printf "%.0f\n", b - a }')
	if [ "$by" -gt 1000000 ]; then
		result "$DRV" "$R" cpu_per_gb "$(per_gb $((${10} - $5)) "$by")"
	fi
	# shellcheck disable=SC2086 # host0's snapshots
	set -- $sa $sb
	if [ $# = 8 ] && [ $(($6 - $2)) -gt 1000000 ]; then
		result "$DRV" "$R" tx_cpu_per_gb "$(per_gb $(($5 - $1)) $(($6 - $2)))"
	else
		note "diagnostic: no sender CPU sample from host0 ($sa / $sb)"
	fi
}

tcp4_run() {
	r0=$(side snap)
	iperf /tmp/tcp4 -O "$WARM" -t "$T" -P 4 || return 1
	r1=$(side snap)
}
tcp4() {
	STEP="$DRV round $R: tcp 4 streams"
	attempt "iperf3 -P 4" tcp4_run
	result "$DRV" "$R" tcp4 "$(rate /tmp/tcp4)"
	retrans tcp4 "$r0" "$r1"
}

# TCP from host1 with iperf3 -Z (sendfile: the data goes from the page
# cache into skb fragments without a copy; iperf3 does not pass -Z to the
# server, so this runs forward, host1 sending): throughput and the
# sender's CPU time per GB, sampled here.
tcpz_run() {
	f=$1
	shift
	timeout $((T + WARM + 60)) "$IPERF" -c "$PEER" -Z -f m -O "$WARM" -t "$T" "$@" > "$f" 2>&1 &
	pid=$!
	sleep "$SAMPLE_START"
	za=$(tx_snap)
	sleep "$SAMPLE_LEN"
	zb=$(tx_snap)
	wait $pid && grep -q 'receiver$' "$f" && return 0
	tail -n 4 "$f" | sed 's/^/# iperf3: /'
	return 1
}
tcpz() {
	STEP="$DRV round $R: tcp -Z $1"
	name=$1
	shift
	attempt "iperf3 -Z $*" tcpz_run "/tmp/$name" "$@"
	result "$DRV" "$R" "$name" "$(rate "/tmp/$name")"
	# shellcheck disable=SC2086 # two snapshots of four numbers each
	set -- $za $zb
	[ $# = 8 ] && [ $(($6 - $2)) -gt 1000000 ] &&
		result "$DRV" "$R" "${name}_tx_cpu_per_gb" "$(per_gb $(($5 - $1)) $(($6 - $2)))"
	return 0
}

# Profiles: one more 1-stream and 4-stream run (reverse, as measured) in the
# first round, with perf recording every CPU of both hosts for PROF_LEN
# seconds inside it (the run longer by what PROF_LEN adds to SAMPLE_LEN);
# the figures of these runs are not used.
profile() {
	[ "$R" = 1 ] && [ "$PROFILE" = 1 ] || return 0
	for w in tcp1 tcp4; do
		STEP="$DRV round $R: profile $w"
		p=1
		[ $w = tcp1 ] || p=4
		pt=$T pl=$SAMPLE_LEN
		if [ -n "${PROF_LEN:-}" ]; then
			pt=$((T + PROF_LEN - SAMPLE_LEN)) pl=$PROF_LEN
		fi
		prof_run() {
			iperf /tmp/prof -O "$WARM" -t "$pt" -P "$p" &
			pid=$!
			sleep "$SAMPLE_START"
			prof_start "$DRV.$w" "$pl"
			side perf "$DRV.$w" "$pl" > /dev/null
			wait $pid
		}
		attempt "iperf3 -P $p (profiled)" prof_run
		note "$DRV: profiled $w at $(rate /tmp/prof) Mbit/s"
		prof_fold "$DRV.$w"
	done
}

# udp_probe KBITS: one UDP run at that offered rate (0: unlimited); sets RX,
# TX (Mbit/s) and LOSS (%).
# (RcvbufErrors: datagrams dropped because the receiving socket's buffer was
# full, counted on this host.)
udp_probe() {
	e=$(rcvbuf_errors)
	client /tmp/udp -u -l "$UDP_LEN" -b "${1}K" -t "$UDP_T"
	RX=$(rate /tmp/udp) TX=$(rate /tmp/udp sender) LOSS=$(loss /tmp/udp)
	note "udp: offered $([ "$1" = 0 ] && echo unlimited || echo "$1 kbit/s"): sent $TX, received $RX Mbit/s, loss $LOSS%, RcvbufErrors $(($(rcvbuf_errors) - e))"
}
rcvbuf_errors() { awk '$1 == "Udp:" && n++ { print $6 }' /proc/net/snmp; }
lossless() { awk -v l="$LOSS" 'BEGIN { exit !(l < 1) }'; }

# UDP: the highest rate that loses under 1%. An unlimited run gives the
# sender's top rate; if it loses 1% or more, a bisection on a log scale
# between 1/64 of it and it, UDP_PROBES runs (and one at 1/64 if none
# passed). The figure is the received rate of the highest run that passed.
udp() {
	STEP="$DRV round $R: udp"
	udp_probe 0
	best=0
	if lossless; then
		best=$RX
		note "udp: the sender's top rate loses under 1%: the figure is the sender's limit"
	else
		hi=$(awk -v t="$TX" 'BEGIN { printf "%d\n", t * 1000 }')
		lo=$((hi / 64))
		k=0
		while [ $k -lt "$UDP_PROBES" ] && [ "$lo" -gt 0 ]; do
			k=$((k + 1))
			# sqrt(lo * hi) by Newton's method: busybox awk has no sqrt.
			mid=$(awk -v a="$lo" -v b="$hi" 'BEGIN { p = a * b; x = b; for (i = 0; i < 60; i++) x = (x + p / x) / 2; printf "%d\n", x }')
			udp_probe "$mid"
			if lossless; then
				lo=$mid best=$RX
			else
				hi=$mid
			fi
		done
		if [ "$best" = 0 ] && [ "$lo" -gt 0 ]; then
			# Nothing passed: the bottom of the range, once.
			udp_probe "$lo"
			if lossless; then best=$RX; else note "diagnostic: $DRV loses 1% or more even at $lo kbit/s"; fi
		fi
	fi
	result "$DRV" "$R" udp "$best"
}

# Request/response: ping -A sends the next request as soon as the reply
# is in; p50 and p99 of the per-packet round-trip times (nearest rank).
rr_run() {
	ping -A -c 10 "$PEER" > /dev/null 2>&1
	timeout $((PINGS / 10 + 60)) ping -A -c "$PINGS" "$PEER" > /tmp/rr 2>&1
	awk '/time=/ { t = $0; sub(/.*time=/, "", t); printf "%d\n", t * 1000 + 0.5 }' /tmp/rr | sort -n > /tmp/rr.us
	n=$(wc -l < /tmp/rr.us)
	[ "$n" -ge $((PINGS * 9 / 10)) ] && return 0
	note "only $n of $PINGS pings answered: $(tail -n 2 /tmp/rr | tr '\n' ' ')"
	return 1
}
rr() {
	STEP="$DRV round $R: request/response"
	attempt "ping -A -c $PINGS" rr_run
	[ "$n" = "$PINGS" ] || note "diagnostic: $n of $PINGS pings answered"
	result "$DRV" "$R" rr_p50 "$(sed -n "$(((n * 50 + 99) / 100))p" /tmp/rr.us)"
	result "$DRV" "$R" rr_p99 "$(sed -n "$(((n * 99 + 99) / 100))p" /tmp/rr.us)"
}

# Request/response over UDP with sockperf (round trips, 64-byte messages),
# without and with busy polling (SO_BUSY_POLL on both ends' sockets,
# `--lls`): host0 serves both on two ports.
sp_run() {
	f=$1
	shift
	timeout $((RR_T + 60)) sockperf ping-pong -i "$PEER" -t "$RR_T" -m 64 --full-rtt "$@" > "$f" 2>&1 &&
		grep -q 'percentile 50.000' "$f" && return 0
	tail -n 4 "$f" | sed 's/^/# sockperf: /'
	return 1
}
# percentile FILE P: sockperf's P-th percentile round trip, microseconds.
percentile() { awk -v p="$2" '$3 == "percentile" && $4 + 0 == p + 0 { printf "%.0f\n", $6 }' "$1"; }
rr_udp() {
	[ -x /usr/bin/sockperf ] || return 0
	STEP="$DRV round $R: sockperf"
	attempt "sockperf ping-pong" sp_run /tmp/sp -p 11111
	result "$DRV" "$R" rr_udp_p50 "$(percentile /tmp/sp 50)"
	STEP="$DRV round $R: sockperf, busy polling"
	attempt "sockperf ping-pong --lls 50" sp_run /tmp/spb -p 11112 --lls 50
	result "$DRV" "$R" rr_busy_p50 "$(percentile /tmp/spb 50)"
}

measure() {
	if [ "$DRV" = ntbnet ]; then
		# The queues in use: the irq domain has a line for every possible
		# queue, and lines that share a doorbell vector fire together.
		q=$($ETHTOOL -l ntb0 | awk '/^Current/ { c = 1 } c && /^Combined:/ { print $2; exit }')
		[ -n "$q" ] || fail "ethtool -l ntb0 shows no queue count"
		IRQ_RE="^ntb0-q($(seq 0 $((q - 1)) | paste -sd'|'))\$"
		note "ntbnet: $q queues, receive interrupts: $IRQ_RE"
	elif [ "$NTB_HW" = ivshmem ]; then
		IRQ_RE='^ntb-ivshmem[0-9]+-db[0-9]+$'
	else
		# ntb_transport: the switch's doorbell vector, and with use_msi=1
		# its queue's MSI.
		IRQ_RE='^(switchtec_ntb_doorbell|ntb_transport)$'
	fi
	# The hardware interrupts: the virtual NTB's doorbell (MSI-X) vectors;
	# on Switchtec the switch's doorbell vector and the MSIs the peer
	# writes (ntbnet's queue lines on its MSI backend, ntb_transport's).
	if [ "$NTB_HW" = ivshmem ]; then
		HW_RE='^ntb-ivshmem[0-9]+-db[0-9]+$'
	else
		HW_RE='^(switchtec_ntb_doorbell|ntb_transport|ntb0-q[0-9]+)$'
	fi
	tcp1
	tcp4
	tcpz tcp1z
	tcpz tcp4z -P 4
	udp
	rr
	rr_udp
	profile
}

# --- One driver, one round ------------------------------------------------------
serve() {
	[ "$HOST" = 0 ] || return 0
	"$IPERF" -s > /tmp/iperf3-server.log 2>&1 &
	SRV=$!
	wait_for 10 sh -c "$SS -ltn | grep -q ':5201 '" || fail "iperf3 server not listening"
	if [ -x /usr/bin/sockperf ]; then
		sockperf server -i "$ME" -p 11111 > /tmp/sockperf-server.log 2>&1 &
		SP1=$!
		sockperf server -i "$ME" -p 11112 --lls 50 > /tmp/sockperf-busy.log 2>&1 &
		SP2=$!
	fi
}
unserve() {
	[ "$HOST" = 0 ] || return 0
	kill "$SRV" ${SP1:-} ${SP2:-} 2>/dev/null
	wait "$SRV" ${SP1:-} ${SP2:-} 2>/dev/null
	SP1= SP2=
}

# reload: the driver again, after a lost link. The pause lets the peer's
# ntb_hw_ivshmem (which looks every 100 ms) see the link go down: a quick
# disable and enable can pass unseen, and the peer would not renegotiate.
reload() {
	step=$STEP
	unserve
	unload "$DRV"
	sleep 2
	load "$DRV"
	serve
	STEP=$step
}

phase() {
	DRV=$1 R=$2
	load "$DRV"
	STEP="$DRV round $R: iperf3 server"
	serve
	STEP="$DRV round $R: meet before the workloads"
	meet 120 || fail "host$((1 - HOST)) did not meet within 120 s"
	if [ "$HOST" = 0 ]; then
		STEP="$DRV round $R: serve the workloads"
		meet "$WORK_LIMIT" || fail "host1 did not finish the workloads within $WORK_LIMIT s"
		# This host's half of the profiles host1 asked for.
		for w in tcp1 tcp4; do
			[ ! -e "/tmp/prof.$DRV.$w" ] || prof_fold "$DRV.$w"
		done
	else
		measure
		STEP="$DRV round $R: meet after the workloads"
		meet 120 || fail "host0 did not meet within 120 s"
	fi
	unserve
}

note "kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, $ROUNDS rounds"
STEP="$NTB_HW: load"
# shellcheck disable=SC2086 # a list of modules
modprobe -a $NTB_HW_MODULES || fail "modprobe $NTB_HW_MODULES"
[ "$HOST" = 1 ] || side_serve
# ntb_perf first; on Switchtec last, where its handshake may need a
# reload (perf_handshake) that host1 could not tell from host0's end if a
# network driver came next.
[ "$NTB_HW" != ivshmem ] || perf
r=1
last=${DRIVERS##* }
while [ $r -le "$ROUNDS" ]; do
	for d in $DRIVERS; do
		phase "$d" $r
		if [ $r = "$ROUNDS" ] && [ "$d" = "$last" ] && [ "$NTB_HW" = ivshmem ]; then
			leave "$d" last
		else
			leave "$d"
		fi
	done
	r=$((r + 1))
done
[ "$NTB_HW" = ivshmem ] || perf
dmesg | grep -E 'incompatible|refused|error|fail' | sed 's/^/# dmesg: /'
note "done"
