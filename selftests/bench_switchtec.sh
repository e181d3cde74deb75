#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench_switchtec.sh: part of `make bench`. ntb_perf on the Switchtec model
# against ntb_perf on the virtual NTB (ntb_hw_ivshmem), side by side, in
# alternation: the model's fast path (a window mapped onto the peer's RAM)
# should reach at least 80% of the virtual NTB's shared memory.
#
# Runs selftests/vm/ntb_perf.sh and selftests/vm/switchtec_perf.sh (the
# same ntb_perf parameters: 64 MiB through a 2 MiB window) BENCH_ROUNDS
# times each (default 3), and prints the medians and their ratio:
#   bench: switchtec_ntb_perf switchtec=<MB/s> ivshmem=<MB/s> ratio=<x> goal=0.8
# Run files: build/bench-switchtec/. Exit status 1 when a run failed;
# a missed goal does not fail it: this is a benchmark.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench-switchtec
rounds=${BENCH_ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ROUNDS=$rounds: a positive number" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"

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
echo "bench: switchtec_ntb_perf switchtec=$s ivshmem=$i ratio=$ratio goal=0.8" | tee "$out/results.txt"
