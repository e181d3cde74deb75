#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
#
# The kernel's ntb_perf over ntb_hw_ivshmem: host0 measures the raw
# bandwidth of its outbound window to host1 and prints it; it is the link
# limit that the benchmarks compare against (64 MiB through a 2 MiB window:
# ntb_perf kmallocs a source buffer of the window size). host1 serves the test until
# host0 unloads ntb_perf, which takes the link down.
. /extra/lib.sh
ktap_plan 4
ktap_check "ntb_perf: modprobe" sh -c "modprobe ntb_hw_ivshmem && modprobe ntb_perf total_order=26 max_mw_size=2097152"
D=$(ls -d /sys/kernel/debug/ntb_perf/* 2>/dev/null | head -n 1)
link_is() { grep -q "Link status: $1" "$D/info"; }
ktap_check "ntb_perf: link up" wait_for 30 link_is up
if [ "$HOST" = 0 ]; then
	timeout 200 sh -c "echo 0 > $D/run"
	rc=$?
	cat "$D/run" | sed 's/^/# /'
	mbs=$(sed -n 's/.*bytes in .* usecs, \([0-9]*\) MBytes\/s/\1/p' "$D/run" | head -n 1)
	ktap_result "ntb_perf: run" "$([ $rc = 0 ] && [ -n "$mbs" ] && [ "$mbs" -gt 0 ]; echo $?)"
	echo "# ntb_perf: link_limit ${mbs:-0} MBytes/s"
	ktap_check "ntb_perf: rmmod" rmmod ntb_perf ntb_hw_ivshmem
else
	ktap_check "ntb_perf: served the peer's test" wait_for 240 link_is down
	ktap_check "ntb_perf: rmmod" rmmod ntb_perf ntb_hw_ivshmem
fi
ktap_finished
