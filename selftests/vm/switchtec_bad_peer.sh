#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec -n 1 -t 300 --host-peer selftests/tools/switchtec_fake_peer.py
#
# A malformed message from the other partition's QEMU drops that
# connection with a log line and never takes QEMU down: a fake partition 1
# (selftests/tools/switchtec_fake_peer.py) sends an unknown message type, a
# length that does not fit, a message before its hello, bad hellos, a
# window outside the BAR, a second hello and a truncated message, each on
# a connection of its own, and checks that QEMU dropped each one and logged
# why (it exits 1 otherwise, which fails the run). Then it connects properly and rings
# doorbell 5, which this host must see: the switch still works.
. /extra/lib.sh
ktap_plan 4
ktap_check "bad peer: modprobe" modprobe -a switchtec ntb_hw_switchtec ntb_tool
D=$(ls -d /sys/kernel/debug/ntb_tool/* 2>/dev/null | head -n 1)
bit5() { [ $(($(cat "$D/db") & 0x20)) != 0 ]; }
ktap_check "bad peer: doorbell 5 from the well-behaved peer" wait_for 240 bit5
echo "c 0x20" > "$D/db"
ktap_check "bad peer: and again" wait_for 30 bit5
ktap_check "bad peer: rmmod" rmmod ntb_tool ntb_hw_switchtec switchtec
ktap_finished
