#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
# vm-kernels: base debug
# vm-files: ../build/udp-gso
#
# ntbnet: the link comes up with both hosts, ping is loss-free, the carrier
# follows the peer's interface going down and up and its heartbeat, ethtool
# reports the device, a transmit batch whose last frame is dropped still
# reaches the peer (the tx_drop test mode), and the module unloads. On the
# virtual NTB here; the switchtec_ntbnet_link*.sh variants run it on the
# Switchtec model.
. /extra/lib.sh
# Host 0 has one result more (the batch's sender).
ktap_plan $((HOST == 0 ? 23 : 22))

# The kernel's ntb_transport goes first and leaves its doorbells masked:
# ntbnet's interrupts must work anyway.
modprobe -a $NTB_HW_MODULES ntb_transport ntb_netdev && rmmod ntb_netdev ntb_transport
ktap_check "link: modprobe, ntb0 up" ntb_up
ktap_check "link: carrier" wait_for 30 ntb_carrier
ktap_check "link: ethtool -i names ntbnet" sh -c "$ETHTOOL -i ntb0 | grep -q '^driver: ntbnet'"
# The interface's sysfs device is the NTB device (on the ntb bus, named
# after its PCI function), bound to ntbnet, whose parent is the PCI
# function that ethtool -i names: what udev and other tools find a
# network interface's device and driver by.
dev=$(readlink -f /sys/class/net/ntb0/device)
drv=$(basename "$(readlink -f /sys/class/net/ntb0/device/driver)")
bus=$($ETHTOOL -i ntb0 | sed -n 's/^bus-info: //p')
ktap_result "link: sysfs device ${dev##*/} (bus $(basename "$(readlink -f "$dev/subsystem")"), driver $drv) under ${dev%/*}, ethtool -i bus-info '$bus'" \
	"$([ -n "$bus" ] && [ "$(basename "$(readlink -f "$dev/subsystem")")" = ntb ] && [ "$drv" = ntbnet ] &&
		[ "$(basename "${dev%/*}")" = "$bus" ] && [ "${dev##*/}" = "$bus" ]; echo $?)"
# One queue interrupt per queue the interface can have (ethtool -l's
# maximum), ntb0-q0 up; with the virtual NTB's doorbells, no more than it
# has doorbell vectors (more would share them, and a doorbell would run the
# handler of a queue that is not in use too).
max=$($ETHTOOL -l ntb0 | awk '/^Combined:/ { print $2; exit }')
irqs=$(grep -c ' ntb0-q[0-9]*$' /proc/interrupts)
names=$(awk -v max="$max" '$NF ~ /^ntb0-q[0-9]+$/ { q = substr($NF, 7) + 0; if (q >= max || seen[q]++) bad++ } END { print bad + 0 }' /proc/interrupts)
vectors=$(awk '$NF ~ /^ntb-ivshmem[0-9]+-db[0-9]+$/ { n++ } END { print n + 0 }' /proc/interrupts)
ktap_result "link: $irqs queue interrupts ntb0-q<N> for $max queues ($names misnamed), $vectors virtual NTB doorbell vectors" \
	"$([ "$irqs" = "$max" ] && [ "$names" = 0 ] && { [ "$NTB_HW" != ivshmem ] || [ "$irqs" -le "$vectors" ]; }; echo $?)"
mac=$(cat /sys/class/net/ntb0/address)
# The last byte is the port number (on Switchtec the partition: host N's
# is N in the model).
ktap_result "link: locally administered MAC $mac" "$(case $mac in 02:*:0$HOST) echo 0 ;; *) echo 1 ;; esac)"
ktap_check "ping: peer answers" wait_for 30 ping -c 1 -W 1 "$PEER"
peer_mac=$($IP neigh show "$PEER" | sed -n 's/.* lladdr \([0-9a-f:]*\).*/\1/p')
ktap_result "link: the peer's MAC $peer_mac is another" "$([ -n "$peer_mac" ] && [ "$peer_mac" != "$mac" ]; echo $?)"
# unused_irqs N: the interrupts so far of the queues from N on.
unused_irqs() {
	awk -v n="$1" 'NR == 1 { c = NF; next } $NF ~ /^ntb0-q[0-9]+$/ && substr($NF, 7) + 0 >= n { for (i = 2; i <= c + 1; i++) s += $i } END { print s + 0 }' /proc/interrupts
}
used=$(ls -d /sys/class/net/ntb0/queues/tx-* | wc -l)
db_before=$(ntb_db_vector_irqs)
unused_before=$(unused_irqs "$used")
ktap_check "ping: 20 pings, no loss" ping_no_loss "$PEER" 20
db_irqs=$(($(ntb_db_vector_irqs) - db_before))
unused=$(($(unused_irqs "$used") - unused_before))
ktap_result "link: no interrupt of a queue not in use ($unused on queues $used-$((max - 1)))" "$([ "$unused" = 0 ]; echo $?)"
# The virtual NTB has no spare window for MSI: its queue interrupts come
# from the doorbell backend. On the Switchtec model with the MSI backend,
# the switch's one doorbell vector carries none of them.
fired=$(grep ' ntb0-q[0-9]*$' /proc/interrupts | awk '{ for (i = 2; i < NF - 2; i++) s += $i } END { print s + 0 }')
ntb_check_backend "link"
ktap_result "link: $fired queue interrupts fired, $db_irqs on the NTB's doorbell vector during 20 pings" \
	"$([ "$fired" -gt 0 ] && { [ "$NTB_HW:$NTB_BACKEND" != switchtec:msi ] || [ "$db_irqs" = 0 ]; }; echo $?)"
ntb_barrier 6001

# Host 1 takes its interface down for a few seconds; host 0 loses the
# carrier within a second and gets it back.
if [ "$HOST" = 1 ]; then
	sleep 1
	$IP link set ntb0 down
	ktap_check "link: carrier off when down" ntb_nocarrier
	sleep 3
	$IP link set ntb0 up
else
	ktap_check "link: carrier off when the peer goes down" wait_for 10 ntb_nocarrier
fi
ktap_check "link: carrier back" wait_for 30 ntb_carrier
wait_for 30 ping -c 1 -W 1 "$PEER"
ktap_check "ping: after the link bounced, no loss" ping_no_loss "$PEER" 10
ntb_barrier 6002

# Host 1's link management hangs (the hang test mode) with the NTB link
# up: host 0 notices the silent heartbeat within a second.
if [ "$HOST" = 1 ]; then
	ktap_check "link: hang test mode on" sh -c "echo 1 > /sys/kernel/debug/ntbnet-ntb0/hang"
	sleep 3
	echo 0 > /sys/kernel/debug/ntbnet-ntb0/hang
else
	ktap_check "link: carrier off when the peer's heartbeat stops" wait_for 3 ntb_nocarrier
fi
ktap_check "link: carrier back after the hang" wait_for 30 ntb_carrier
wait_for 30 ping -c 1 -W 1 "$PEER"
ntb_barrier 6003

# One queue: every frame goes through queue 0, whose doorbell
# ntb_transport used; its interrupts must arrive.
$ETHTOOL -L ntb0 combined 1
wait_for 30 ntb_carrier
wait_for 30 ping -c 1 -W 1 "$PEER"
before=$(ntb_stat q0_interrupts)
ping -c 10 -i 0.2 "$PEER" > /dev/null
irqs=$(($(ntb_stat q0_interrupts) - before))
ktap_result "link: $irqs interrupts on queue 0 for 10 pings" "$([ "$irqs" -gt 0 ]; echo $?)"

# A transmit batch whose last frame is dropped: host 0 sends one UDP
# datagram of 8 segments (UDP_SEGMENT), which the stack segments in
# software (ntbnet offers no UDP segmentation) and hands over as one batch,
# the first 7 with xmit_more; the tx_drop test mode drops the 8th. The 7
# before it are reserved in the ring and must be published and the peer's
# interrupt raised by the drop itself: host 0 sends nothing else meanwhile
# (a permanent neighbour entry, no IPv6 on ntb0, the barrier's TCP closed
# a second before) that would publish them late.
if [ "$HOST" = 1 ]; then
	/extra/udp-gso -r 6100 7 30 > /tmp/batch &
	receiver=$!
	ntb_barrier 6005
	wait $receiver && got=0 || got=1
	ktap_result "link: the 7 frames before a dropped batch end arrived ($(cat /tmp/batch))" \
		"$([ $got = 0 ] && [ "$(cat /tmp/batch)" = abcdefg ]; echo $?)"
else
	echo 1 > /proc/sys/net/ipv6/conf/ntb0/disable_ipv6
	$IP neigh replace "$PEER" lladdr "$peer_mac" dev ntb0 nud permanent
	ntb_barrier 6005
	sleep 1
	dropped=$(ntb_stat_sum '^q[0-9]+_tx_dropped$')
	echo 1 > /sys/kernel/debug/ntbnet-ntb0/tx_drop
	ktap_check "link: one UDP datagram of 8 segments" /extra/udp-gso "$PEER" 6100 1000 8
	ktap_result "link: tx_drop dropped the batch's last frame" \
		"$([ "$(cat /sys/kernel/debug/ntbnet-ntb0/tx_drop)" = 0 ] &&
			[ $(($(ntb_stat_sum '^q[0-9]+_tx_dropped$') - dropped)) = 1 ]; echo $?)"
fi
# Host 0 listens: it sends nothing until host 1 has checked.
ntb_barrier 6006
if [ "$HOST" = 0 ]; then
	$IP neigh del "$PEER" dev ntb0
	echo 0 > /proc/sys/net/ipv6/conf/ntb0/disable_ipv6
fi
ntb_barrier 6004
rx=$(ntb_stat_sum '^q[0-9]+_rx_packets$')
bad=$(ntb_stat_sum '^q[0-9]+_bad_')
ktap_result "link: ethtool -S counts $rx received, no protocol errors" \
	"$([ "$rx" -gt 0 ] && [ "$bad" = 0 ]; echo $?)" "bad $bad"
iprx=$($IP -s link show ntb0 | awk '/RX:/ { getline; print $2; exit }')
ktap_result "link: ip -s link counts them too ($iprx)" "$([ "$iprx" -ge "$rx" ]; echo $?)"
ktap_check "link: rmmod ntbnet" rmmod ntbnet
ktap_finished
