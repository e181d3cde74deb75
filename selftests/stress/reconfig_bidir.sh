#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 900 -c 4
#
# Stress: iperf3 in both directions (--bidir, 4 streams) for $SECS seconds
# while both hosts keep changing the queue count (ethtool -L), the ring
# size (ethtool -G) and the MTU, one change every 2 s on each host.
. /extra/lib.sh
SECS=${SECS:-120}
ktap_plan 6
ntb_leaks_reset
ktap_check "reconfig: ntb0 up" ntb_up
ktap_check "reconfig: carrier" wait_for 60 ntb_carrier
wait_for 60 ping -c 1 -W 1 "$PEER"
if [ "$HOST" = 0 ]; then
	timeout $((SECS + 120)) $IPERF -s -1 > /tmp/iperf.log 2>&1 &
	job=$!
fi
ntb_barrier 6901 120
if [ "$HOST" = 1 ]; then
	sleep 2
	timeout $((SECS + 120)) $IPERF -c "$PEER" -t "$SECS" -P 4 --bidir > /tmp/iperf.log 2>&1 &
	job=$!
fi
ok=0 n=0 end=$(($(cut -d. -f1 /proc/uptime) + SECS))
set -- -L:1 -G:128 mtu:9000 -L:4 -G:1024 mtu:1500 -L:2 -G:256 mtu:65521 -L:3 -G:512 mtu:1500
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
	s=$1
	shift
	set -- "$@" "$s"
	case $s in
	-L:*) $ETHTOOL -L ntb0 combined "${s#-L:}" ;;
	-G:*) $ETHTOOL -G ntb0 rx "${s#-G:}" tx "${s#-G:}" ;;
	mtu:*) $IP link set ntb0 mtu "${s#mtu:}" ;;
	esac || { ok=1; ktap_diag "$s failed"; }
	n=$((n + 1))
	sleep 2
done
ktap_result "reconfig: $n changes under bidirectional traffic" $ok
wait $job
rc=$?
grep -E 'SUM.*(sender|receiver)' /tmp/iperf.log | sed 's/^/# /'
ktap_result "reconfig: iperf3 --bidir survived" $rc
ntb_barrier 6902 120
wait_for 60 ntb_carrier
wait_for 60 ping -c 1 -W 1 "$PEER"
ktap_check "reconfig: ping afterwards" sh -c "ping -c 10 -i 0.2 $PEER | grep -q ' 0% packet loss'"
ntb_barrier 6903 120
rmmod ntbnet
leaks=$(ntb_leaks)
ktap_result "reconfig: no leaks ($leaks)" "$leaks"
ktap_finished
