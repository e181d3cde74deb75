#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
#
# The kernel's ntb_transport and ntb_netdev over ntb_hw_ivshmem: the two
# hosts ping each other and run iperf3 for 10 s with no errors.
. /extra/lib.sh
ktap_plan 6
IP=/usr/bin/ip
me=10.20.0.$((HOST + 1)) peer=10.20.0.$((2 - HOST))
ktap_check "ntb_transport: modprobe" modprobe -a ntb_hw_ivshmem ntb_transport ntb_netdev
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
$IP addr add $me/24 dev "$dev"
$IP link set "$dev" up
carrier() { [ "$(cat /sys/class/net/$dev/carrier 2>/dev/null)" = 1 ]; }
ktap_check "ntb_transport: $dev carrier" wait_for 60 carrier
ktap_check "ntb_transport: peer answers" wait_for 60 ping -c 1 -W 1 $peer
ktap_check "ntb_transport: ping, no loss" ping_no_loss $peer 20
if [ "$HOST" = 0 ]; then
	ktap_check "ntb_transport: iperf3 server" timeout 120 /usr/bin/iperf3 -s -1
else
	sleep 2
	out=$(timeout 120 /usr/bin/iperf3 -c $peer -t 10 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	ktap_result "ntb_transport: iperf3 10 s" $rc
fi
ktap_check "ntb_transport: rmmod" rmmod ntb_netdev ntb_transport ntb_hw_ivshmem
ktap_finished
