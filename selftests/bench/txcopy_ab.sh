#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# txcopy_ab.sh: an A/B of two builds of ntbnet's transmit path in one boot
# of the two VM hosts, for a change that only the sender runs:
#
#   selftests/vm.sh -n 2 -t 900 -o build/txcopy-ab selftests/bench/txcopy_ab.sh \
#       selftests/lib.sh /path/to/ntbnet-before.ko
#
# Host0 loads the build's ntbnet once and serves iperf3. Host1, ROUNDS
# times, loads the `before` module (/extra/ntbnet-before.ko), then the
# build's (`after`), and with each sends an iperf3 -Z (sendfile) run of
# 8 s to host0, sampling its own busy CPU time (/proc/stat) and its
# device's tx_bytes over 4 s inside it. Prints one line per run:
#   ab: ROUND VARIANT mbits=<Mbit/s> tx_cpu_per_gb=<CPU-s/GB> retr=<segments>
# Host0's ntbnet sees each reload as a peer restart and renegotiates.
. /extra/lib.sh
ROUNDS=${ROUNDS:-3}
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
txb() { cat /sys/class/net/ntb0/statistics/tx_bytes; }
retrans() { awk '$1 == "Tcp:" && h { for (i = 1; i <= NF; i++) if (k[i] == "RetransSegs") print $i; exit }
	$1 == "Tcp:" { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }' /proc/net/snmp; }

modprobe -a $NTB_HW_MODULES || { echo "ab: FAIL modprobe"; exit 1; }
if [ "$HOST" = 0 ]; then
	modprobe ntbnet && $IP addr add "$ME/24" dev ntb0 && $IP link set ntb0 up ||
		{ echo "ab: FAIL load"; exit 1; }
	# One server run per client run; gone quiet for 240 s: done.
	n=0
	while [ $n -lt $((ROUNDS * 2)) ] && timeout 240 $IPERF -s -1 > /dev/null 2>&1; do
		n=$((n + 1))
	done
	echo "ab: host0 served $n runs"
	exit 0
fi

for r in $(seq "$ROUNDS"); do
	for v in before after; do
		if [ $v = before ]; then
			insmod /extra/ntbnet-before.ko
		else
			modprobe ntbnet
		fi && $IP addr add "$ME/24" dev ntb0 && $IP link set ntb0 up ||
			{ echo "ab: FAIL load $v"; exit 1; }
		wait_for 60 ntb_carrier && wait_for 30 ping -c 1 -W 1 "$PEER" ||
			{ echo "ab: FAIL link $v"; exit 1; }
		sleep 1
		r0=$(retrans)
		timeout 60 $IPERF -c "$PEER" -Z -f m -t 8 > /tmp/ab.out 2>&1 &
		pid=$!
		sleep 3
		j0=$(busy) b0=$(txb)
		sleep 4
		j1=$(busy) b1=$(txb)
		wait $pid
		rc=$?
		mbits=$(awk '/receiver$/ { for (i = 1; i <= NF; i++) if ($i ~ /bits\/sec/) print $(i - 1) }' /tmp/ab.out | tail -n 1)
		echo "ab: $r $v mbits=${mbits:-0} rc=$rc tx_cpu_per_gb=$(awk -v j=$((j1 - j0)) -v b=$((b1 - b0)) \
			'BEGIN { if (b > 0) printf "%.2f", j / 100 / (b / 1e9); else print "n/a" }') retr=$(($(retrans) - r0))"
		$IP link set ntb0 down
		rmmod ntbnet || { echo "ab: FAIL rmmod"; exit 1; }
		sleep 2
	done
done
echo "ab: done"
