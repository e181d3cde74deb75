#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec -n 2 -t 180
#
# The kernel's ntb_pingpong over ntb_hw_switchtec on the Switchtec model:
# doorbell ping-pong through the switch for a few seconds; the counts grow
# on both sides.
. /extra/lib.sh
ktap_plan 4
ktap_check "ntb_pingpong: modprobe" sh -c "modprobe -a switchtec ntb_hw_switchtec && modprobe ntb_pingpong delay_ms=50"
C=$(ls -d /sys/kernel/debug/ntb_pingpong/* 2>/dev/null | head -n 1)/count
count() { cat "$C" 2>/dev/null || echo 0; }
above() { [ "$(count)" -gt "$1" ]; }
ktap_check "ntb_pingpong: ping-pong starts" wait_for 60 above 0
first=$(count)
sleep 3
second=$(count)
ktap_diag "ntb_pingpong: count $first, 3 s later $second"
ktap_result "ntb_pingpong: count grows" "$([ "$second" -gt $((first + 5)) ]; echo $?)" "$first -> $second"
# Keep ponging until the peer has seen its count grow too.
sleep 4
ktap_check "ntb_pingpong: rmmod" rmmod ntb_pingpong ntb_hw_switchtec switchtec
ktap_finished
