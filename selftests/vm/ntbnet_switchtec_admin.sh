#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec -n 2 -t 420
#
# Documentation/ntbnet.md's path from two Switchtec hosts to iperf3, as an
# administrator runs it, on the Switchtec model: the module order and
# window size option, the persistent configuration's commands (what
# ifupdown's ifup runs for Documentation/examples/ifupdown/ntb0), ping,
# iperf3, what ethtool shows, the queue interrupts' affinity.
. /extra/lib.sh
ktap_plan 12
ME=10.0.0.$((HOST + 1)) PEER=10.0.0.$((2 - HOST))

ktap_check "modprobe switchtec" modprobe switchtec
ktap_check "modprobe ntb_hw_switchtec max_mw_size=0x1000000" modprobe ntb_hw_switchtec max_mw_size=0x1000000
ktap_check "modprobe ntbnet" modprobe ntbnet
ls /sys/bus/ntb/devices/ | sed 's/^/# ntb device: /'
# What `ifup ntb0` runs for the ifupdown example (its modprobe is above).
ktap_check "ip addr add $ME/24 dev ntb0" $IP addr add $ME/24 dev ntb0
ktap_check "ip link set dev ntb0 mtu 65521 up" $IP link set dev ntb0 mtu 65521 up
ktap_check "carrier" wait_for 90 ntb_carrier
# No interrupt remapping here: the MSI backend is refused, doorbells.
ntb_check_backend "admin"
ktap_check "ping -c 3 $PEER" wait_for 60 ping -c 3 -W 2 $PEER
if [ "$HOST" = 0 ]; then
	ktap_check "iperf3 -s (one test)" timeout 150 $IPERF -s -1
else
	sleep 2
	out=$(timeout 120 $IPERF -c $PEER -t 10 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	ktap_result "iperf3 -c $PEER -t 10" $rc
fi
dmesg | grep -E 'ntbnet|switchtec' | sed 's/^/# /'
$ETHTOOL -i ntb0 | sed 's/^/# /'
ktap_check "ethtool -i: bus-info is the NT function" sh -c \
	"$ETHTOOL -i ntb0 | grep -q \"^bus-info: \$(basename \$(readlink -f /sys/class/net/ntb0/device/..))\""
grep ' ntb0-q' /proc/interrupts | sed 's/^/# /'
backend=$(ntb_backend)
irq=$(awk '/ ntb0-q0$/ { sub(":", "", $1); print $1 }' /proc/interrupts)
if [ "$backend" = msi ]; then
	ktap_check "IRQ affinity: ntb0-q0 (IRQ $irq, MSI backend) to CPU 1" sh -c \
		"echo 1 > /proc/irq/$irq/smp_affinity_list && grep -qx 1 /proc/irq/$irq/smp_affinity_list"
else
	db=$(awk '/ switchtec_ntb_doorbell$/ { sub(":", "", $1); print $1 }' /proc/interrupts)
	ktap_check "IRQ affinity: the doorbell vector (IRQ $db; backend $backend) to CPU 1" sh -c \
		"echo 1 > /proc/irq/$db/smp_affinity_list && grep -qx 1 /proc/irq/$db/smp_affinity_list"
fi
ntb_barrier 7101 60
sleep 1
ktap_check "rmmod ntbnet ntb_hw_switchtec switchtec" rmmod ntbnet ntb_hw_switchtec switchtec
ktap_finished
