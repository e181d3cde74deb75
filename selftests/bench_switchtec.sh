#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench_switchtec.sh: part of `make bench`, the Switchtec model's benchmark.
#
# 1. ntbnet on its MSI backend (Intel interrupt remapping, as in the
#    switchtec_ntbnet_* tests) against the kernel's ntb_transport +
#    ntb_netdev with use_msi=0 (the switch's one doorbell vector) and with
#    use_msi=1 (ntb_msi: MSIs the peer writes through a window), and
#    ntb_perf as the link limit, all in one two-host boot on the model:
#    selftests/bench/guest.sh with DRIVERS="ntb_netdev ntb_netdev_msi
#    ntbnet", BENCH_ROUNDS rounds (default 3), the same workloads as
#    bench.sh, with the same profiles (BENCH_PROFILE=1, the default: one
#    more profiled TCP 1- and 4-stream run per driver in round 1; plots,
#    flame graphs and the profiles' costs by selftests/bench/report.sh, in
#    build/bench-switchtec/plots and profile). Prints a Markdown table of the medians
#    (min-max) and, per figure,
#      bench: switchtec METRIC ntbnet=<x> ntb_netdev=<x> ntb_netdev_msi=<x> ratio=<x> ratio_msi=<x>
#      bench: switchtec link_limit ntb_perf=<Mbit/s>
#    ratio is ntbnet / ntb_netdev(use_msi=0), ratio_msi ntbnet /
#    ntb_netdev(use_msi=1).
# 2. Unless BENCH_FASTPATH=0: ntb_perf on the model against ntb_perf on
#    the virtual NTB, one boot each, in alternation, BENCH_ROUNDS times
#    (the model's fast path, a window mapped onto the peer's RAM, should
#    reach at least 80% of ivshmem's shared memory):
#      bench: switchtec_ntb_perf switchtec=<MB/s> ivshmem=<MB/s> ratio=<x> goal=0.8
#
# `make bench` runs it on the benchmark kernel (NTBNET_BUILD) with the
# project's QEMU (NTBNET_QEMU). BENCH_QUICK=1: short runs, as in bench.sh.
# Run files and results.md: build/bench-switchtec/. Exit status 1 when a
# run failed, a figure is missing, or a driver's queue interrupts did not
# come from the backend its column names; a missed goal does not fail it:
# this is a benchmark.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench-switchtec
rounds=${BENCH_ROUNDS:-3}
quick=${BENCH_QUICK:-0}
fastpath=${BENCH_FASTPATH:-1}
profile=${BENCH_PROFILE:-1}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ROUNDS=$rounds: a positive number" >&2; exit 1; }
[[ $quick =~ ^[01]$ ]] || { echo "bench: BENCH_QUICK=$quick: 0 or 1" >&2; exit 1; }
[[ $fastpath =~ ^[01]$ ]] || { echo "bench: BENCH_FASTPATH=$fastpath: 0 or 1" >&2; exit 1; }
[[ $profile =~ ^[01]$ ]] || { echo "bench: BENCH_PROFILE=$profile: 0 or 1" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"

# --- 1. ntbnet against ntb_netdev, use_msi=0 and 1, one boot -----------------
drivers="ntb_netdev ntb_netdev_msi ntbnet"
if [ "$quick" = 1 ]; then
	conf="T=1 WARM=1 SAMPLE_START=1.4 SAMPLE_LEN=0.7 UDP_T=1 UDP_PROBES=3 PINGS=200 RR_T=1"
	limit=$((300 + rounds * 300))
else
	conf="T=5 WARM=1 SAMPLE_START=2 SAMPLE_LEN=3 UDP_T=3 UDP_PROBES=5 PINGS=1000 RR_T=3"
	limit=$((300 + rounds * 600))
fi
# A profiled 1- and 4-stream run per driver (bench.sh: 120 s for two drivers).
limit=$((limit + 180 * profile))
# shellcheck disable=SC2086 # a list of settings
printf '%s\n' $conf "ROUNDS=$rounds" "MTU=" "UDP_LEN=1400" "PROFILE=$profile" PROF_HZ=499 PERF_ORDER=26 SETTLE=4 \
	RETRY_LIMIT=120 LOAD_LIMIT=150 "WORK_LIMIT=$((limit - 60))" "DRIVERS=\"$drivers\"" > "$out/bench.conf"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
start=$SECONDS
echo "bench: switchtec: $drivers and ntb_perf on the Switchtec model (interrupt remapping), $rounds rounds, time limit ${limit}s, load $load_start"
vm=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { [ -z "$vm" ] || kill -TERM "$vm" 2>/dev/null || true; }
trap cleanup EXIT
"$top/selftests/vm.sh" --ntb switchtec --iommu --append intel_iommu=off -n 2 -t "$limit" -o "$out/run" \
	"$top/selftests/bench/guest.sh" "$top/selftests/lib.sh" "$out/bench.conf" > "$out/vm.log" 2>&1 &
vm=$!
# The hosts' progress as it comes; stop the run 5 s after a host failed.
declare -A shown=([0]=0 [1]=0)
show() {
	local i n f
	for i in 0 1; do
		f=$out/run/host$i.out
		[ -f "$f" ] || continue
		n=$(wc -l < "$f")
		[ "$n" -gt "${shown[$i]}" ] || continue
		sed -n "$((shown[$i] + 1)),${n}p" "$f" | tr -d '\r' | grep -E '^(# |bench)' | grep -v '^bench-prof' | sed "s/^/host$i| /" || true
		shown[$i]=$n
	done
}
failed_at=
while kill -0 "$vm" 2>/dev/null; do
	show
	if [ -z "$failed_at" ] && grep -qsE '^bench: FAIL|^ntbnet-vm: exit [1-9]' "$out"/run/host[01].out; then
		failed_at=$SECONDS
	fi
	if [ -n "$failed_at" ] && [ $((SECONDS - failed_at)) -ge 5 ]; then
		echo "bench: a host failed; stopping the run" >&2
		kill -TERM "$vm" 2>/dev/null || true
	fi
	sleep 1
done
show
status=0
wait "$vm" || { status=1; grep -E '^vm.sh:|console\|' "$out/vm.log" | head -n 40 >&2 || true; }
vm=
took=$((SECONDS - start))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
[ $status = 0 ] || echo "bench: switchtec: the VM run failed after ${took}s; see $out/vm.log and $out/run (step: switchtec VM run)" >&2

cat "$out"/run/host[01].out 2>/dev/null | tr -d '\r' | awk '$1 == "bench-result" { print $2, $3, $4, $5 }' > "$out/raw.txt" || true
# Each driver's queue interrupts, as every load of it on host1 found them.
declare -A want=([ntbnet]=msi [ntb_netdev]=db [ntb_netdev_msi]=msi)
for d in $drivers; do
	got=$(tr -d '\r' < "$out/run/host1.out" 2>/dev/null | awk -v d="$d" '$1 == "bench-backend" && $2 == d { print $3 }' | sort -u | paste -sd,)
	if [ "$got" != "${want[$d]}" ]; then
		echo "bench: switchtec: $d's queue interrupts came from '${got:-nothing}', not ${want[$d]} (step: backend)" >&2
		status=1
	fi
done

# stats DRIVER METRIC: "median min max count".
stats() {
	awk -v d="$1" -v m="$2" '$1 == d && $3 == m { print $4 }' "$out/raw.txt" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) exit
			print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR], NR }'
}
fmt() { awk -v x="$1" 'BEGIN { a = x < 0 ? -x : x; if (a >= 100) printf "%.0f", x; else if (a >= 10) printf "%.1f", x; else printf "%.2f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
metrics="tcp1 tcp4 tcp1z tcp4z udp rr_p50 rr_p99 rr_udp_p50 rr_busy_p50 irq_per_kpkt irq_hw_per_kpkt cpu_per_gb tx_cpu_per_gb tcp1_retr_per_gb tcp4_retr_per_gb"
required="tcp1 tcp4 udp rr_p50 rr_p99 irq_per_kpkt irq_hw_per_kpkt"
declare -A label=(
	[tcp1]="TCP, 1 stream (Mbit/s)" [tcp4]="TCP, 4 streams (Mbit/s)"
	[tcp1z]="TCP, 1 stream, iperf3 -Z, host1 sending (Mbit/s)" [tcp4z]="TCP, 4 streams, iperf3 -Z (Mbit/s)"
	[udp]="UDP, highest rate with < 1% loss, 1400 bytes (Mbit/s)"
	[rr_p50]="ping -A latency, p50 (µs)" [rr_p99]="ping -A latency, p99 (µs)"
	[rr_udp_p50]="sockperf UDP latency, p50 (µs)" [rr_busy_p50]="the same, busy polling (µs)"
	[irq_per_kpkt]="receive interrupts per 1000 packets, TCP 1 stream"
	[irq_hw_per_kpkt]="hardware interrupts (doorbell vector and MSIs) per 1000 packets"
	[cpu_per_gb]="receiver CPU-s per GB, TCP 1 stream" [tx_cpu_per_gb]="sender CPU-s per GB, TCP 1 stream"
	[tcp1_retr_per_gb]="TCP retransmissions per GB, 1 stream" [tcp4_retr_per_gb]="TCP retransmissions per GB, 4 streams"
)
table="| workload | ntbnet, MSI backend | ntb_netdev use_msi=0 | ntb_netdev use_msi=1 | ntbnet / use_msi=0 | ntbnet / use_msi=1 |
| --- | --- | --- | --- | --- | --- |"
lines=()
for m in $metrics; do
	cells=()
	declare -A med=()
	for d in ntbnet ntb_netdev ntb_netdev_msi; do
		s=$(stats "$d" "$m")
		med[$d]=
		if [ -z "$s" ]; then
			cells+=("n/a")
			[[ " $required " != *" $m "* ]] || { echo "bench: switchtec: no $m figure for $d (step: results)" >&2; status=1; }
			continue
		fi
		read -r md mn mx n <<< "$s"
		med[$d]=$md
		cells+=("$(fmt "$md") ($(fmt "$mn")–$(fmt "$mx"))")
	done
	r0=$(ratio "${med[ntbnet]}" "${med[ntb_netdev]}") r1=$(ratio "${med[ntbnet]}" "${med[ntb_netdev_msi]}")
	table+=$'\n'"| ${label[$m]} | ${cells[0]} | ${cells[1]} | ${cells[2]} | $r0 | $r1 |"
	[ -z "${med[ntbnet]}" ] ||
		lines+=("bench: switchtec $m ntbnet=$(fmt "${med[ntbnet]}") ntb_netdev=${med[ntb_netdev]:+$(fmt "${med[ntb_netdev]}")} ntb_netdev_msi=${med[ntb_netdev_msi]:+$(fmt "${med[ntb_netdev_msi]}")} ratio=$r0 ratio_msi=$r1")
done
link=$(awk '$1 == "ntb_perf" && $3 == "link_limit" { v = $4 } END { print v }' "$out/raw.txt")
if [ -n "$link" ]; then
	table+=$'\n'"| link limit: ntb_perf, 1 thread, 2 MiB window (Mbit/s) | $(fmt "$link") | | | | |"
	lines+=("bench: switchtec link_limit ntb_perf=$(fmt "$link")")
else
	echo "bench: switchtec: no ntb_perf figure (step: results)" >&2
	status=1
fi
diags=$(cat "$out"/run/host[01].out 2>/dev/null | tr -d '\r' | grep 'diagnostic:' || true)
{
	echo "# ntbnet on the Switchtec model: benchmark results"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), tree $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "- platform: two QEMU TCG guests on the Switchtec model (\`vm.sh --ntb switchtec --iommu --append intel_iommu=off\`: Intel interrupt remapping), 2 vCPUs and 1024 MiB each; $rounds rounds in one boot, drivers in turn ($drivers); host: $(nproc) cores, load average $load_start at the start, $load_end at the end; took ${took}s"
	echo
	echo "$table"
	echo
	[ -z "$diags" ] || { echo "Diagnostics:"; echo; sed 's/^/    /' <<< "$diags"; echo; }
	printf '%s\n' "${lines[@]}"
} > "$out/results.md"
# Plots, and with profiles their flame graphs and costs (as bench.sh).
"$top/selftests/bench/report.sh" "$out" || echo "bench: switchtec: the report (plots, profiles) failed" >&2
if [ -s "$out/profile/summary.md" ]; then
	{
		echo
		echo "## Profiles (round 1; flame graphs in profile/*.svg)"
		echo
		echo "Busy samples by cost centre, every profile side by side (hostN: host0 sends, host1 receives):"
		echo
		cat "$out/profile/summary.md"
		echo
		cat "$out/profile/top.md"
	} >> "$out/results.md"
fi
echo
echo "$table"
echo
echo "bench: switchtec: ${took}s, load $load_start at the start, $load_end at the end; $out/results.md"
printf '%s\n' "${lines[@]}"

[ "$fastpath" = 1 ] || exit $status

# --- 2. ntb_perf: the model's fast path against the virtual NTB --------------
# run NAME SCRIPT KEY: one ntb_perf run; prints its MB/s.
run() {
	local name=$1 script=$2 key=$3 args
	args=$(sed -n 's/^# vm-args: *//p' "$script" | head -n 1)
	# shellcheck disable=SC2086 # vm-args is a word list
	# A benchmark: a boot-time RCU stall on a loaded machine is not a failure.
	if ! "$top/selftests/vm.sh" $args --no-console-check -q -o "$out/$name" "$script" "$top/selftests/lib.sh" \
		> "$out/$name.log" 2>&1; then
		echo "bench: FAIL (step: $name): see $out/$name.log" >&2
		exit 1
	fi
	sed -n "s/^# ntb_perf: $key \([0-9]*\) MBytes\/s.*/\1/p" "$out/$name"/host0.out.txt | head -n 1
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

sw=() iv=()
for ((r = 1; r <= rounds; r++)); do
	iv+=("$(run "ivshmem-$r" "$top/selftests/vm/ntb_perf.sh" link_limit)")
	sw+=("$(run "switchtec-$r" "$top/selftests/vm/switchtec_perf.sh" switchtec)")
	echo "bench: round $r: ntb_perf ivshmem ${iv[-1]} MB/s, switchtec ${sw[-1]} MB/s" >&2
done
s=$(printf '%s\n' "${sw[@]}" | median)
i=$(printf '%s\n' "${iv[@]}" | median)
ratio=$(awk -v s="$s" -v i="$i" 'BEGIN { printf "%.2f", i ? s / i : 0 }')
echo "bench: switchtec_ntb_perf switchtec=$s ivshmem=$i ratio=$ratio goal=0.8" | tee -a "$out/results.md"
exit $status
