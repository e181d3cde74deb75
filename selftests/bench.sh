#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: `make bench`. ntbnet against the kernel's ntb_transport +
# ntb_netdev, side by side, on the two-host VM platform.
#
# Boots two hosts once (selftests/vm.sh) and runs selftests/bench/guest.sh
# on them: ntb_perf's raw bandwidth (the link limit), then BENCH_ROUNDS
# rounds in which the two drivers take turns on the same ntb_hw_ivshmem,
# each through the same workloads (TCP 1 and 4 streams, UDP at the highest
# rate under 1% loss, request/response latency, receive interrupts and CPU
# time per byte). Prints a Markdown table of the medians (min-max) and the
# ratios ntbnet/ntb_netdev, then machine-readable lines
#   bench: tcp1 ntbnet=<Mbit/s> ntb_netdev=<Mbit/s> ratio=<x>
#   ...
#   bench: link_limit ntb_perf=<Mbit/s>
# and writes the same to build/bench/results.md (run files: build/bench/run).
#
# Environment:
#   BENCH_ROUNDS=N     rounds, each driver once per round (default 3)
#   BENCH_QUICK=1      smoke mode: 1 s runs, short UDP search, 200 pings
#   BENCH_MTU=N|max    both drivers at MTU N, or each at its maximum
#                      (ntbnet 65521, ntb_netdev 65510); default: each
#                      at its default, as `ip link set up` leaves it
#                      (ntbnet 1500 with TSO, ntb_netdev 65510)
#   BENCH_UDP_LEN=N    UDP datagram size in bytes (default 1400)
#   BENCH_PROFILE=0|1  profile both hosts during one extra TCP 1- and
#                      4-stream run per driver in round 1 (default 1)
#
# `make bench` runs this on the benchmark kernel (selftests/config.bench)
# with NTBNET_BUILD pointing at its build; flame graphs, plots and the
# profiles' top costs come from selftests/bench/report.sh.
#
# Exit status: 0 when the run completed with every figure; 1 otherwise,
# with the failing step. Missed goals do not fail it: these are benchmarks.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench
run=$out/run
rounds=${BENCH_ROUNDS:-3}
quick=${BENCH_QUICK:-0}
mtu=${BENCH_MTU:-}
udp_len=${BENCH_UDP_LEN:-1400}
profile=${BENCH_PROFILE:-1}

die() { printf 'bench: FAIL (step: settings): %s\n' "$*" >&2; exit 1; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS=$rounds: a positive number, please"
[[ $quick =~ ^[01]$ ]] || die "BENCH_QUICK=$quick: 0 or 1"
[[ -z $mtu || $mtu == max || $mtu =~ ^[0-9]+$ ]] || die "BENCH_MTU=$mtu: a number or max"
[[ $udp_len =~ ^[0-9]+$ ]] || die "BENCH_UDP_LEN=$udp_len: a number"
[[ $profile =~ ^[01]$ ]] || die "BENCH_PROFILE=$profile: 0 or 1"
[ "$rounds" -ge 3 ] || [ "$quick" = 1 ] ||
	echo "bench: note: BENCH_ROUNDS=$rounds: the figures are medians of fewer than 3 runs" >&2

rm -rf "$out"
mkdir -p "$run"
if [ "$quick" = 1 ]; then
	# T: seconds per TCP run after WARM seconds left out; the interrupt
	# and CPU sample spans SAMPLE_LEN seconds from SAMPLE_START.
	conf="T=1 WARM=1 SAMPLE_START=1.4 SAMPLE_LEN=0.7 UDP_T=1 UDP_PROBES=3 PINGS=200 RR_T=1"
	limit=$((200 + rounds * 200))
else
	# Profiles sample 6 s: at 3 s a loaded machine left a few hundred busy
	# samples per profile, too few to rank anything.
	conf="T=5 WARM=1 SAMPLE_START=2 SAMPLE_LEN=3 PROF_LEN=6 UDP_T=3 UDP_PROBES=5 PINGS=1000 RR_T=3"
	limit=$((200 + rounds * 330 + 120 * profile))
fi
# shellcheck disable=SC2086 # a list of settings
printf '%s\n' $conf "ROUNDS=$rounds" "MTU=$mtu" "UDP_LEN=$udp_len" "PROFILE=$profile" PROF_HZ=499 PERF_ORDER=26 SETTLE=4 RETRY_LIMIT=120 LOAD_LIMIT=150 \
	"WORK_LIMIT=$((limit - 60))" > "$out/bench.conf"

cmd="make bench"
for v in BENCH_ROUNDS BENCH_QUICK BENCH_MTU BENCH_UDP_LEN BENCH_PROFILE; do
	[ -z "${!v:-}" ] || cmd="$v=${!v} $cmd"
done
date=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: $cmd: $rounds rounds$([ "$quick" = 1 ] && echo ", quick"), time limit ${limit}s, run files in $run"

# --- The run, with the hosts' progress as it comes ------------------------
vm=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { [ -z "$vm" ] || kill -TERM "$vm" 2>/dev/null || true; }
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM HUP

"$top/selftests/vm.sh" -n 2 -t "$limit" -o "$run" "$top/selftests/bench/guest.sh" \
	"$top/selftests/lib.sh" "$out/bench.conf" > "$out/vm.log" 2>&1 &
vm=$!
start=$SECONDS
declare -A shown=([0]=0 [1]=0)
failed_at=
show() {
	local i n f
	for i in 0 1; do
		f=$run/host$i.out
		[ -f "$f" ] || continue
		n=$(wc -l < "$f")
		[ "$n" -gt "${shown[$i]}" ] || continue
		sed -n "$((shown[$i] + 1)),${n}p" "$f" | tr -d '\r' |
			grep -E '^(# |bench)' | grep -v '^bench-prof' | sed "s/^/host$i| /" || true
		shown[$i]=$n
	done
}
while kill -0 "$vm" 2>/dev/null; do
	show
	# Fail fast: when one host gave up, the other would wait for it until
	# its own time limit.
	if [ -z "$failed_at" ] &&
		grep -qsE '^bench: FAIL|^ntbnet-vm: exit [1-9]' "$run/host0.out" "$run/host1.out"; then
		failed_at=$SECONDS
	fi
	if [ -n "$failed_at" ] && [ $((SECONDS - failed_at)) -ge 5 ]; then
		echo "bench: a host failed; stopping the run" >&2
		kill -TERM "$vm" 2>/dev/null || true
	fi
	sleep 1
done
show
vm_rc=0
wait "$vm" || vm_rc=$?
vm=
took=$((SECONDS - start))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

status=0
if [ $vm_rc != 0 ]; then
	grep -E '^vm.sh:|console\|' "$out/vm.log" | head -n 60 >&2 || true
	tr -d '\r' < "$run/host1.out" 2>/dev/null | grep '^bench: FAIL' >&2 || true
	tr -d '\r' < "$run/host0.out" 2>/dev/null | grep '^bench: FAIL' >&2 || true
	echo "bench: the VM run failed (exit $vm_rc) after ${took}s; see $out/vm.log and $run (step: VM run)" >&2
	status=1
fi

# --- Figures: medians of the rounds -----------------------------------------
cat "$run"/host[01].out 2>/dev/null | tr -d '\r' | awk '$1 == "bench-result" { print $2, $3, $4, $5 }' \
	> "$out/raw.txt" || true

# Plots, flame graphs and the profiles' top costs (selftests/bench/report.sh).
"$top/selftests/bench/report.sh" "$out" || echo "bench: the report (plots, profiles) failed" >&2

diags=$(cat "$run"/host[01].out 2>/dev/null | tr -d '\r' | grep 'diagnostic:' || true)

# stats DRIVER METRIC: "median min max count" of that driver's figures.
stats() {
	awk -v d="$1" -v m="$2" '$1 == d && $3 == m { print $4 }' "$out/raw.txt" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) exit
			med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print med, v[1], v[NR], NR }'
}
fmt() {
	awk -v x="$1" 'BEGIN { a = x < 0 ? -x : x
		if (a >= 100) printf "%.0f", x; else if (a >= 10) printf "%.1f", x; else printf "%.2f", x }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

metrics="tcp1 tcp4 tcp1z tcp4z udp rr_p50 rr_p99 rr_udp_p50 rr_busy_p50 irq_per_kpkt irq_hw_per_kpkt cpu_per_gb tx_cpu_per_gb tcp1z_tx_cpu_per_gb tcp1_retr_per_gb tcp4_retr_per_gb"
# Figures that need a tool or host0's side channel: reported when there.
optional="cpu_per_gb tx_cpu_per_gb tcp1z_tx_cpu_per_gb tcp1_retr_per_gb tcp4_retr_per_gb rr_udp_p50 rr_busy_p50"
declare -A label=(
	[tcp1]="TCP, 1 stream (Mbit/s, higher is better)"
	[tcp4]="TCP, 4 streams (Mbit/s, higher is better)"
	[udp]="UDP, highest rate with < 1% loss, ${udp_len}-byte datagrams (Mbit/s, higher is better)"
	[rr_p50]="Request/response latency, p50 (µs, lower is better)"
	[rr_p99]="Request/response latency, p99 (µs, lower is better)"
	[irq_per_kpkt]="Receive interrupts per 1000 packets, TCP 1 stream (driver's lines, lower is better)"
	[irq_hw_per_kpkt]="Doorbell (MSI-X) interrupts per 1000 packets, TCP 1 stream (lower is better)"
	[cpu_per_gb]="Receiver CPU time per GB received, TCP 1 stream (CPU-s/GB, lower is better)"
	[tx_cpu_per_gb]="Sender CPU time per GB sent, TCP 1 stream (CPU-s/GB, lower is better)"
	[tcp1z]="TCP, 1 stream, iperf3 -Z (sendfile), host1 sending (Mbit/s, higher is better)"
	[tcp4z]="TCP, 4 streams, iperf3 -Z (sendfile), host1 sending (Mbit/s, higher is better)"
	[tcp1z_tx_cpu_per_gb]="Sender CPU time per GB sent, TCP 1 stream, iperf3 -Z (CPU-s/GB, lower is better)"
	[tcp1_retr_per_gb]="TCP retransmissions per GB sent, 1 stream (lower is better; the link loses nothing)"
	[tcp4_retr_per_gb]="TCP retransmissions per GB sent, 4 streams (lower is better)"
	[rr_udp_p50]="Request/response latency over UDP, sockperf, p50 (µs, lower is better)"
	[rr_busy_p50]="The same with busy polling (SO_BUSY_POLL 50 µs), p50 (µs, lower is better)"
)
declare -A med
table="| workload | ntbnet median (min–max) | ntb_netdev median (min–max) | ratio ntbnet/ntb_netdev |
| --- | --- | --- | --- |"
lines=() missing=()
for m in $metrics; do
	cells=()
	for d in ntbnet ntb_netdev; do
		s=$(stats "$d" "$m")
		if [ -z "$s" ]; then
			cells+=("n/a")
			med[$d.$m]=
			continue
		fi
		read -r md mn mx n <<< "$s"
		med[$d.$m]=$md
		cells+=("$(fmt "$md") ($(fmt "$mn")–$(fmt "$mx"))")
		[ "$n" -ge "$rounds" ] || [[ " $optional " == *" $m "* ]] || missing+=("$m $d: $n of $rounds runs")
	done
	if [ -z "${med[ntbnet.$m]}" ] || [ -z "${med[ntb_netdev.$m]}" ]; then
		# Some figures are "where measurable"; everything else is required.
		[[ " $optional " == *" $m "* ]] || missing+=("$m: no figure")
		[ -n "${med[ntbnet.$m]}${med[ntb_netdev.$m]}" ] || continue
	fi
	r=$(ratio "${med[ntbnet.$m]}" "${med[ntb_netdev.$m]}")
	table+=$'\n'"| ${label[$m]} | ${cells[0]} | ${cells[1]} | $r |"
	[ -z "${med[ntbnet.$m]}" ] || [ -z "${med[ntb_netdev.$m]}" ] ||
		lines+=("bench: $m ntbnet=$(fmt "${med[ntbnet.$m]}") ntb_netdev=$(fmt "${med[ntb_netdev.$m]}") ratio=$r")
done
link=$(awk '$1 == "ntb_perf" && $3 == "link_limit" { v = $4 } END { print v }' "$out/raw.txt")
if [ -n "$link" ]; then
	table+=$'\n'"| Link limit: ntb_perf raw bandwidth, 1 thread, 2 MiB window (Mbit/s) | $(fmt "$link") | | |"
	lines+=("bench: link_limit ntb_perf=$(fmt "$link")")
else
	missing+=("link_limit: no figure")
fi

# The issue's goals (benchmark goals, not pass/fail).
goal() { if awk "BEGIN { exit !($2) }"; then echo "- met: $1"; else echo "- missed: $1"; fi; }
goals=
v() { echo "${med[$1]:-0}"; }
if [ ${#missing[@]} = 0 ]; then
	best=$(awk -v a="$(v ntbnet.tcp1)" -v b="$(v ntbnet.tcp4)" 'BEGIN { print (a > b ? a : b) }')
	goals=$(
		goal "TCP 1 stream at least 2x ntb_netdev (ratio $(ratio "$(v ntbnet.tcp1)" "$(v ntb_netdev.tcp1)"))" \
			"$(v ntbnet.tcp1) >= 2 * $(v ntb_netdev.tcp1)"
		goal "TCP 4 streams at least 3x ntb_netdev (ratio $(ratio "$(v ntbnet.tcp4)" "$(v ntb_netdev.tcp4)"))" \
			"$(v ntbnet.tcp4) >= 3 * $(v ntb_netdev.tcp4)"
		goal "TCP at least 60% of ntb_perf's raw bandwidth (best ntbnet TCP median $(fmt "$best") Mbit/s = $(awk -v a="$best" -v b="$link" 'BEGIN { printf "%.0f", 100 * a / b }')%)" \
			"$best >= 0.6 * $link"
		goal "p50 latency at most half of ntb_netdev's (ratio $(ratio "$(v ntbnet.rr_p50)" "$(v ntb_netdev.rr_p50)"))" \
			"$(v ntbnet.rr_p50) <= 0.5 * $(v ntb_netdev.rr_p50)"
		goal "fewer than 100 receive interrupts per 1000 packets under load ($(fmt "$(v ntbnet.irq_per_kpkt)"))" \
			"$(v ntbnet.irq_per_kpkt) < 100"
	)
fi

# Every run's figures, round by round.
perround="| round | driver | ${metrics// / | } |
| --- | --- |$(for m in $metrics; do printf ' --- |'; done)"
for ((i = 1; i <= rounds; i++)); do
	for d in ntb_netdev ntbnet; do
		row="| $i | $d |"
		for m in $metrics; do
			x=$(awk -v d="$d" -v r="$i" -v m="$m" '$1 == d && $2 == r && $3 == m { print $4 }' "$out/raw.txt")
			row+=" ${x:-–} |"
		done
		perround+=$'\n'"$row"
	done
done

case $mtu in
'') mtu_note="each driver's default (ntbnet 1500 with TSO, ntb_netdev 65510, its maximum)" ;;
max) mtu_note="each driver's maximum (ntbnet 65521, ntb_netdev 65510)" ;;
*) mtu_note=$mtu ;;
esac
{
	echo "# ntbnet benchmark results"
	echo
	echo "- date: $date"
	echo "- command: \`$cmd\` (commit $commit)"
	echo "- platform: two QEMU TCG guests (\`-accel tcg,thread=multi -cpu max,la57=off -M q35\`), 2 vCPUs and 1024 MiB each, virtual NTB ntb_hw_ivshmem on 64 MiB of shared memory, 8 doorbell vectors; host: $(nproc) cores, load average $load_start at the start, $load_end at the end"
	echo "- MTU: $mtu_note; $rounds rounds, drivers alternating (ntb_netdev, then ntbnet, in each round)"
	echo "- took: ${took}s"
	echo
	echo "$table"
	echo
	if [ -n "$goals" ]; then
		echo "Goals (issue 6; benchmark goals, not pass/fail):"
		echo
		echo "$goals"
		echo
	fi
	echo "Every run:"
	echo
	echo "$perround"
	echo
	echo "Plots: $(cd "$out" && ls plots/*.svg 2>/dev/null | tr '\n' ' ')"
	echo
	if [ -s "$out/profile/top.md" ]; then
		echo "## Profiles (round 1; flame graphs in profile/*.svg)"
		echo
		if [ -s "$out/profile/summary.md" ]; then
			echo "Busy samples by cost centre, every profile side by side (hostN: host0 sends, host1 receives):"
			echo
			cat "$out/profile/summary.md"
			echo
		fi
		cat "$out/profile/top.md"
	fi
	if [ -n "$diags" ]; then
		echo "Diagnostics (retried runs, reloaded drivers, ...):"
		echo
		while IFS= read -r l; do echo "    $l"; done <<< "$diags"
		echo
	fi
	printf '%s\n' "${lines[@]}"
} > "$out/results.md"

echo
echo "$table"
echo
[ -z "$goals" ] || { echo "$goals"; echo; }
echo "bench: ${took}s, full results in $out/results.md"
if [ ${#missing[@]} -gt 0 ]; then
	printf 'bench: missing figures: %s\n' "${missing[@]}" >&2
	echo "bench: incomplete results (step: results)" >&2
	status=1
fi
printf '%s\n' "${lines[@]}"
exit $status
