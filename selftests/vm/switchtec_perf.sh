#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec -n 2 -t 600
#
# The kernel's ntb_perf over ntb_hw_switchtec on the Switchtec model: host0
# writes 64 MiB through its outbound window (2 MiB, the direct window
# behind the LUT windows of BAR2: the fast path, a mapping of host1's RAM)
# and prints the bandwidth; host1 serves the test until host0 is done.
#
# ntb_perf's handshake races on a switch: a command whose doorbell arrives
# before the receiver has seen its own link come up is dropped
# (perf_spad_cmd_recv() skips a peer whose link is not up yet, after
# clearing the doorbell), and the stale command then blocks the
# scratchpad that the peer's next command needs. ntb_hw_switchtec brings
# the side that enabled its link first up only when the other side's link
# message has been handled, so one side can lose that race. The side left
# with the dropped command (its inbound buffer never gets allocated)
# reloads ntb_perf, which clears its scratchpads and makes both sides
# start the handshake again.
. /extra/lib.sh
ktap_plan 6
load() { modprobe ntb_perf total_order=26 max_mw_size=2097152; }
D() { ls -d /sys/kernel/debug/ntb_perf/* 2>/dev/null | head -n 1; }
link_is() { grep -q "Link status: $1" "$(D)/info" 2>/dev/null; }
inbuf() { ! grep -q 'In buffer addr: unallocated' "$(D)/info"; }
outbuf() { ! grep -q 'Out buffer xlat 0x0000000000000000' "$(D)/info"; }
# handshake SECONDS: reload while this side holds a dropped command.
handshake() {
	local end=$(($(cut -d. -f1 /proc/uptime) + $1))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		if wait_for 20 inbuf; then
			[ "$HOST" != 0 ] || wait_for 20 outbuf || continue
			return 0
		fi
		link_is up || continue
		ktap_diag "ntb_perf: no inbound buffer 20 s after link up: reloading"
		reloads=$((reloads + 1))
		timeout 60 rmmod ntb_perf && load
		wait_for 120 link_is up
	done
	return 1
}
reloads=0
ktap_check "ntb_perf: modprobe" modprobe -a switchtec ntb_hw_switchtec
ktap_check "ntb_perf: modprobe ntb_perf" load
ktap_check "ntb_perf: link up" wait_for 120 link_is up
ktap_check "ntb_perf: handshake" handshake 300
ktap_diag "ntb_perf: $reloads reloads"
if [ "$HOST" = 0 ]; then
	timeout 200 sh -c "echo 0 > $(D)/run"
	rc=$?
	sed 's/^/# /' "$(D)/run"
	mbs=$(sed -n 's/.*bytes in .* usecs, \([0-9]*\) MBytes\/s/\1/p' "$(D)/run" | head -n 1)
	ktap_result "ntb_perf: run" "$([ $rc = 0 ] && [ -n "$mbs" ] && [ "$mbs" -gt 0 ]; echo $?)"
	echo "# ntb_perf: switchtec ${mbs:-0} MBytes/s"
	ktap_check "ntb_perf: rmmod" rmmod ntb_perf ntb_hw_switchtec switchtec
else
	# host0 is done when the link stays down (its unload).
	gone() { link_is down && ! wait_for 10 link_is up; }
	ktap_check "ntb_perf: served the peer's test" wait_for 400 gone
	ktap_check "ntb_perf: rmmod" rmmod ntb_perf ntb_hw_switchtec switchtec
fi
ktap_finished
