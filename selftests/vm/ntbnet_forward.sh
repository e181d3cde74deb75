#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
# vm-kernels: base debug
#
# ntbnet: routed TSO traffic through ntb0 at full TSO. A GSO frame from the
# peer arrives as untrusted GSO (SKB_GSO_DODGY); when the host forwards it
# out of an ntbnet interface, the driver must take it as one frame, not
# drop it (Documentation/ring-protocol.md, "GSO frames").
#
# Host 1 bridges ntb0 with a veth into the namespace `dst`, so that `dst`
# sits on the link's subnet (10.99.0.3, plus 10.98.2.2 of its own), and
# routes for the namespace `src` (10.98.1.2) behind another veth. Host 1
# sends what `src` sends to 10.98.2.2 to host 0 as router, and host 0
# routes it over ntb0 to 10.99.0.3 (a hairpin: in and out of ntb0), so
# host 0 forwards the GSO frames it received from ntbnet into ntbnet:
#
#   src -veth- host1 -br1/ntb0-> host0 -ntb0-> host1 br1 -veth- dst
. /extra/lib.sh
ktap_plan 8

ktap_check "forward: ntb0 up" ntb_up
ktap_check "forward: carrier" wait_for 30 ntb_carrier
ntb_check_backend "forward"
wait_for 30 ping -c 1 -W 1 "$PEER"

sysctl_w() { echo "$2" > "/proc/sys/net/ipv4/$1"; }
sysctl_w ip_forward 1
for c in all default ntb0; do
	sysctl_w "conf/$c/rp_filter" 0
	sysctl_w "conf/$c/send_redirects" 0
	sysctl_w "conf/$c/accept_redirects" 0
done

if [ "$HOST" = 1 ]; then
	# veth NAME: the namespace NAME and a veth pair NAME-r (here) and
	# NAME-n (there, up).
	veth() {
		$IP netns add "$1" &&
			$IP link add "$1-r" type veth peer name "$1-n" &&
			$IP link set "$1-n" netns "$1" &&
			$IP -n "$1" link set lo up &&
			$IP -n "$1" link set "$1-n" up &&
			$IP link set "$1-r" up
	}
	ok=0
	{
		veth src &&
			$IP -n src addr add 10.98.1.2/24 dev src-n &&
			$IP -n src route add default via 10.98.1.1 &&
			$IP addr add 10.98.1.1/24 dev src-r &&
			veth dst &&
			$IP -n dst addr add 10.99.0.3/24 dev dst-n &&
			$IP -n dst addr add 10.98.2.2/32 dev lo &&
			$IP -n dst route add default via "$ME" &&
			$IP link add br1 type bridge &&
			$IP addr del "$ME/24" dev ntb0 &&
			$IP link set ntb0 master br1 &&
			$IP link set dst-r master br1 &&
			$IP addr add "$ME/24" dev br1 &&
			$IP link set br1 up &&
			$IP route add 10.98.2.0/24 via "$PEER"
	} || ok=1
	ktap_result "forward: namespaces, bridge and routes" $ok
else
	$IP route add 10.98.2.0/24 via 10.99.0.3 dev ntb0
	ktap_result "forward: route to dst over ntb0, back where it came from" $?
fi
ntb_barrier 6601

if [ "$HOST" = 1 ]; then
	# The path, end to end, through host 0 (TTL: src 64, host 1, host 0,
	# host 1).
	ktap_check "forward: ping src -> dst through host 0" \
		wait_for 30 $IP netns exec src ping -c 1 -W 1 10.98.2.2
	$IP netns exec dst timeout 60 $IPERF -s -1 > /tmp/iperf-s.log 2>&1 &
	sleep 1
	out=$($IP netns exec src timeout 60 $IPERF -c 10.98.2.2 -t 6 2>&1)
	rc=$?
	echo "$out" | grep -E 'sender|receiver' | sed 's/^/# /'
	ktap_result "forward: TCP src -> dst through host 0" $rc
	wait
	ntb_send 6602 done
	ktap_skip "forward: host 0 forwarded TSO frames" "measured on host 0"
else
	ktap_skip "forward: ping through this host" "measured on host 1"
	ktap_skip "forward: TCP through this host" "measured on host 1"
	b0=$(cat /sys/class/net/ntb0/statistics/tx_bytes)
	p0=$(cat /sys/class/net/ntb0/statistics/tx_packets)
	ntb_recv 6602 120 > /dev/null
	db=$(($(cat /sys/class/net/ntb0/statistics/tx_bytes) - b0))
	dp=$(($(cat /sys/class/net/ntb0/statistics/tx_packets) - p0))
	drop=$(ntb_stat_sum '^q[0-9]+_tx_dropped$')
	avg=$((db / (dp + 1)))
	ktap_diag "forwarded $db bytes in $dp frames (average $avg), tx_dropped $drop"
	# Forwarded at full TSO: over 1 MB (a loaded host is slow), in frames
	# above the MTU (about 1514 bytes when segmented), none
	# dropped.
	ktap_result "forward: host 0 forwarded TSO frames" \
		"$([ "$drop" = 0 ] && [ "$db" -gt 1000000 ] && [ "$avg" -gt 1514 ]; echo $?)"
fi
ntb_barrier 6603
bad=$(ntb_stat_sum '^q[0-9]+_bad_')
ktap_result "forward: no protocol errors" "$bad"
ktap_finished
