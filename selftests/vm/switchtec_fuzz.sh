#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec -n 2 -t 420
# vm-files: ../build/switchtec-poke
#
# Random register writes do not take the Switchtec model down: host0 does
# 20000 random accesses (switchtec-poke, seeded) to its NTB function's BAR0
# (the GAS: NTB control blocks of both partitions, partition_op, doorbells,
# messages, MRPC, event headers), BAR2 and BAR4, without a driver bound,
# so both QEMUs get whatever follows (window configurations, doorbells,
# messages, forwarded accesses). Then, with the BAR and LUT entries
# scrubbed, the kernel's drivers and ntb_tool work between the two hosts:
# both QEMUs are alive and the switch is usable again. host1 has its
# drivers loaded throughout.
. /extra/lib.sh
peer=$((1 - HOST))
spad_is() { [ "$(cat "$1")" = "$2" ]; }
if [ "$HOST" = 0 ]; then
	ktap_plan 7
	dev=$(grep -l 0x11f8 /sys/bus/pci/devices/*/vendor | head -n 1 | xargs dirname | xargs basename)
	echo 1 > "/sys/bus/pci/devices/$dev/enable"
	ktap_check "fuzz: 20000 random accesses" /extra/switchtec-poke "$dev" 0x5eed$BOOT 20000
else
	ktap_plan 6
fi
ktap_check "fuzz: modprobe" modprobe -a switchtec ntb_hw_switchtec ntb_tool
D=$(ls -d /sys/kernel/debug/ntb_tool/* 2>/dev/null | head -n 1)
P=$D/peer0
echo Y > "$D/link"
ktap_check "fuzz: link up" timeout 300 sh -c "echo Y > $P/link_event"
mine=$(printf '0x%x' $((0x6a6a0000 + HOST)))
theirs=$(printf '0x%x' $((0x6a6a0000 + peer)))
echo "$mine" > "$P/spad7"
ktap_check "fuzz: scratchpad written by the peer" wait_for 60 spad_is "$D/spad7" "$theirs"
echo "c 0xfffffff" > "$D/db_mask"
# Ring until the peer's bit is here (it may unmask later than we ring);
# other bits may be latched from the random writes.
ring() { echo "s $((1 << (HOST + 3)))" > "$D/peer_db"; [ $(($(cat "$D/db") & (1 << (peer + 3)))) != 0 ]; }
ktap_check "fuzz: doorbell rung by the peer" wait_for 60 ring
echo 0x1 > "$P/spad8"
ktap_check "fuzz: peer done" wait_for 60 spad_is "$D/spad8" 0x1
sleep 2
echo N > "$D/link"
ktap_check "fuzz: rmmod" rmmod ntb_tool ntb_hw_switchtec switchtec
ktap_finished
