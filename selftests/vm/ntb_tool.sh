#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 240
#
# The kernel's ntb_tool over ntb_hw_ivshmem, checked from both hosts: link,
# scratchpads, doorbells (and their mask) and memory windows, each written
# by one host and verified by the other.
. /extra/lib.sh
ktap_plan 12
peer=$((1 - HOST))
t() { timeout "$@"; }

ktap_check "ntb_tool: modprobe" modprobe -a ntb_hw_ivshmem ntb_tool
D=$(ls -d /sys/kernel/debug/ntb_tool/* 2>/dev/null | head -n 1)
P=$D/peer0

echo Y > "$D/link"
ktap_check "ntb_tool: link up" t 20 sh -c "echo Y > $P/link_event"
ktap_result "ntb_tool: ports are $HOST and $peer" \
	"$([ "$(cat "$D/port")" = "$HOST" ] && [ "$(cat "$P/port")" = "$peer" ]; echo $?)"

# Scratchpads: each host writes a value into the peer's scratchpad 5 and
# then reads, in its own scratchpad 5, the value the peer wrote.
mine=$(printf '0x%x' $((0x5a5a0000 + HOST)))
theirs=$(printf '0x%x' $((0x5a5a0000 + peer)))
echo "$mine" > "$P/spad5"
spad_is() { [ "$(cat "$1")" = "$2" ]; }
ktap_check "ntb_tool: peer scratchpad reads back" spad_is "$P/spad5" "$mine"
ktap_check "ntb_tool: scratchpad written by the peer" wait_for 10 spad_is "$D/spad5" "$theirs"

# Handshake through scratchpad 6: the peer is at step N or later (the
# peer may already have moved on, so compare, not match).
spad_ge() { [ $(($(cat "$1"))) -ge $(($2)) ]; }
step() {
	echo "$1" > "$P/spad6"
	wait_for 20 spad_ge "$D/spad6" "$1" || ktap_diag "peer did not reach step $1"
}

# Doorbells: ring bit (HOST+1) of the peer; wait for bit (peer+1) here.
step 0x1
echo "s $((1 << (HOST + 1)))" > "$D/peer_db"
want=$(printf '0x%x' $((1 << (peer + 1))))
ktap_check "ntb_tool: doorbell rung by the peer" t 10 sh -c "echo $want > $D/db_event"
echo "c $want" > "$D/db"
ktap_result "ntb_tool: doorbell cleared" "$([ "$(cat "$D/db")" = 0x0 ]; echo $?)"

# A masked doorbell is latched but not signalled; unmasking signals it.
echo "s 0x10" > "$D/db_mask"
step 0x2
echo "s 0x10" > "$D/peer_db"
ktap_check "ntb_tool: masked doorbell latched" wait_for 10 spad_is "$D/db" 0x10
echo "c 0x10" > "$D/db_mask"
echo "c 0x10" > "$D/db"
step 0x3

# Memory windows: each host translates one inbound window onto a small
# buffer, the peer writes a message through its outbound window of the same
# index, and the owner reads it from its buffer. A small buffer gets the
# smallest window that fits; on the virtual NTB that is window <peer port>
# (Documentation/ivshmem-ntb.md), the ntb_perf convention.
in=$peer out=$HOST
echo 65536 > "$P/mw_trans$in"
ktap_result "ntb_tool: inbound window translated" "$([ -e "$P/mw$in" ]; echo $?)"
step 0x4
echo 0:65536 > "$P/peer_mw_trans$out"
printf 'hello from host%s' "$HOST" > "$P/peer_mw$out"
step 0x5
got=$(head -c 16 "$P/mw$in")
ktap_result "ntb_tool: window data written by the peer" \
	"$([ "$got" = "hello from host$peer" ]; echo $?)" "got '$got'"
step 0x6

# Unmap the windows before unloading: 6.12's ntb_tool removes its debugfs
# tree before the windows' files at remove time, and crashes on a window
# still mapped (a use-after-free of the dentry in tool_free_peer_mw()).
echo 0:0 > "$P/peer_mw_trans$out"
echo 0 > "$P/mw_trans$in"
echo N > "$D/link"
ktap_check "ntb_tool: rmmod ntb_tool" rmmod ntb_tool
ktap_check "ntb_tool: rmmod ntb_hw_ivshmem" rmmod ntb_hw_ivshmem
ktap_finished
