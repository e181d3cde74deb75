#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec -n 2 -t 300
#
# The kernel's switchtec.ko and ntb_hw_switchtec.ko, unmodified and with
# default parameters, on the Switchtec model (two partitions of one switch,
# one per host), under the kernel's ntb_tool: the PCI quirk and the
# management device (an MRPC command), link, scratchpads, doorbells (and their mask) and
# both memory windows, each written by one host and verified by the
# other. ntb_hw_switchtec offers clients no message registers (it uses the
# switch's messages itself, for link events; those are covered by the link
# coming up), so ntb_tool has none to test here.
. /extra/lib.sh
ktap_plan 19
peer=$((1 - HOST))
t() { timeout "$@"; }

ktap_result "switchtec: PCI quirk ran" \
	"$(dmesg | grep -q 'Setting Switchtec proxy ID aliases'; echo $?)"
ktap_check "switchtec: modprobe" modprobe -a switchtec ntb_hw_switchtec ntb_tool
ktap_check "switchtec: management device" test -c /dev/switchtec0
# An MRPC command through /dev/switchtec0: echo (0x41) of 0x12345678
# returns status 0 and the bitwise NOT of its input word.
mrpc_echo() {
	exec 3<>/dev/switchtec0 || return 1
	printf '\101\000\000\000\170\126\064\022' >&3
	out=$(dd bs=8 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n')
	exec 3<&-
	echo "$out"
	[ "$out" = 0000000087a9cbed ]
}
ktap_check "switchtec: MRPC echo through /dev/switchtec0" mrpc_echo
ktap_result "switchtec: partition $HOST of 2" \
	"$([ "$(cat /sys/class/switchtec/switchtec0/partition)" = "$HOST" ] &&
	   [ "$(cat /sys/class/switchtec/switchtec0/partition_count)" = 2 ]; echo $?)"
ktap_check "switchtec: NTB device registered" wait_for 20 sh -c "dmesg | grep -q 'NTB device registered'"
D=$(ls -d /sys/kernel/debug/ntb_tool/* 2>/dev/null | head -n 1)
P=$D/peer0

echo Y > "$D/link"
ktap_check "ntb_tool: link up" t 60 sh -c "echo Y > $P/link_event"

# Scratchpads: each host writes a value into the peer's scratchpad 5 and
# then reads, in its own scratchpad 5, the value the peer wrote.
mine=$(printf '0x%x' $((0x5a5a0000 + HOST)))
theirs=$(printf '0x%x' $((0x5a5a0000 + peer)))
echo "$mine" > "$P/spad5"
spad_is() { [ "$(cat "$1")" = "$2" ]; }
ktap_check "ntb_tool: peer scratchpad reads back" spad_is "$P/spad5" "$mine"
ktap_check "ntb_tool: scratchpad written by the peer" wait_for 20 spad_is "$D/spad5" "$theirs"

# Handshake through scratchpad 6: the peer is at step N or later.
spad_ge() { [ $(($(cat "$1"))) -ge $(($2)) ]; }
step() {
	echo "$1" > "$P/spad6"
	wait_for 30 spad_ge "$D/spad6" "$1" || ktap_diag "peer did not reach step $1"
}

# Doorbells: ring bit (HOST+1) of the peer; wait for bit (peer+1) here.
# ntb_hw_switchtec starts with every doorbell masked (db_mask = the valid
# mask); a client unmasks what it uses.
ktap_result "ntb_tool: 28 doorbells, all masked" \
	"$([ "$(cat "$D/db_valid_mask")" = 0xfffffff ] && [ "$(cat "$D/db_mask")" = 0xfffffff ]; echo $?)"
echo "c 0xfffffff" > "$D/db_mask"
step 0x1
echo "s $((1 << (HOST + 1)))" > "$D/peer_db"
want=$(printf '0x%x' $((1 << (peer + 1))))
ktap_check "ntb_tool: doorbell rung by the peer" t 20 sh -c "echo $want > $D/db_event"
echo "c $want" > "$D/db"
ktap_result "ntb_tool: doorbell cleared" "$([ "$(cat "$D/db")" = 0x0 ]; echo $?)"

# A masked doorbell is latched but not signalled; unmasking signals it.
echo "s 0x10" > "$D/db_mask"
step 0x2
echo "s 0x10" > "$D/peer_db"
ktap_check "ntb_tool: masked doorbell latched" wait_for 20 spad_is "$D/db" 0x10
echo "c 0x10" > "$D/db_mask"
echo "c 0x10" > "$D/db"
step 0x3

# Memory windows, both of them (BAR2 behind the LUT windows, BAR4): each
# host translates inbound window N onto a buffer, the peer writes a
# message through its outbound window N, the owner reads it from its
# buffer. Host0 tests window 0 inbound, host1 window 1, then swap.
for round in 0 1; do
	in=$(( (HOST + round) % 2 )) out=$(( (peer + round) % 2 ))
	echo 65536 > "$P/mw_trans$in"
	ktap_result "ntb_tool: inbound window $in translated" "$([ -e "$P/mw$in" ]; echo $?)"
	step $((0x10 + 3 * round))
	echo 0:65536 > "$P/peer_mw_trans$out"
	printf 'hello %s from host%s' "$round" "$HOST" > "$P/peer_mw$out"
	step $((0x11 + 3 * round))
	got=$(head -c 18 "$P/mw$in")
	ktap_result "ntb_tool: window $in data written by the peer" \
		"$([ "$got" = "hello $round from host$peer" ]; echo $?)" "got '$got'"
	step $((0x12 + 3 * round))
	echo 0:0 > "$P/peer_mw_trans$out"
	echo 0 > "$P/mw_trans$in"
done

echo N > "$D/link"
ktap_check "ntb_tool: rmmod ntb_tool" rmmod ntb_tool
ktap_check "ntb_tool: rmmod ntb_hw_switchtec switchtec" rmmod ntb_hw_switchtec switchtec
ktap_finished
