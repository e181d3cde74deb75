#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
#
# ntbnet: receive interrupt coalescing with `ethtool -C ntb0 rx-usecs N`
# (the core's software coalescing, gro_flush_timeout and
# napi_defer_hard_irqs): the setting reads back through ethtool and sysfs,
# unsupported or out-of-range settings are refused, and traffic flows with
# it on (a frame that arrives while the interrupt is held back is picked up
# by the core's timer poll), then off again. Host 1 coalesces and
# receives; host 0 sends.
. /extra/lib.sh
if [ "$HOST" = 0 ]; then ktap_plan 3; else ktap_plan 11; fi

ktap_check "coalesce: ntb0 up" ntb_up
ktap_check "coalesce: carrier" wait_for 30 ntb_carrier
wait_for 30 ping -c 1 -W 1 "$PEER"

usecs() { $ETHTOOL -c ntb0 | awk '$1 == "rx-usecs:" { print $2 }'; }
sysfs() { cat "/sys/class/net/ntb0/$1"; }
irqs() { awk 'NR == 1 { n = NF; next } $NF ~ /^ntb0-q[0-9]+$/ { for (i = 2; i <= n + 1; i++) s += $i } END { print s + 0 }' /proc/interrupts; }
rx_packets() { cat /sys/class/net/ntb0/statistics/rx_packets; }

if [ "$HOST" = 0 ]; then
	# The client's probe connection is one server run, the test another.
	timeout 120 $IPERF -s -1 > /dev/null
	ktap_check "coalesce: iperf3 server" timeout 120 $IPERF -s -1
	ktap_finished
	exit
fi

ktap_check "coalesce: ethtool -C ntb0 rx-usecs 200" $ETHTOOL -C ntb0 rx-usecs 200
ktap_result "coalesce: ethtool -c reads rx-usecs $(usecs)" "$([ "$(usecs)" = 200 ]; echo $?)"
ktap_result "coalesce: gro_flush_timeout $(sysfs gro_flush_timeout) ns, napi_defer_hard_irqs $(sysfs napi_defer_hard_irqs)" \
	"$([ "$(sysfs gro_flush_timeout)" = 200000 ] && [ "$(sysfs napi_defer_hard_irqs)" -gt 0 ]; echo $?)"
ktap_result "coalesce: adaptive-rx refused (not supported)" \
	"$($ETHTOOL -C ntb0 adaptive-rx on >/dev/null 2>&1 && echo 1 || echo 0)"
ktap_result "coalesce: rx-usecs 20000 refused (over 10 ms)" \
	"$($ETHTOOL -C ntb0 rx-usecs 20000 >/dev/null 2>&1 && echo 1 || echo 0)"
ktap_check "coalesce: pings answered while coalescing" ping -c 5 -W 2 "$PEER"
i0=$(irqs) p0=$(rx_packets)
out=$(wait_for 30 $IPERF -c "$PEER" -t 1 >/dev/null && sleep 1 && timeout 120 $IPERF -c "$PEER" -R -t 4 2>&1)
rc=$?
echo "$out" | grep -E 'sender|receiver' | sed 's/^/# /'
ktap_result "coalesce: TCP received while coalescing" "$([ $rc = 0 ] && echo "$out" | grep -q receiver; echo $?)"
# Interrupts per 1000 packets, for information (timing-dependent).
ktap_diag "receive interrupts per 1000 packets with rx-usecs 200: $(( ($(irqs) - i0) * 1000 / ($(rx_packets) - p0 + 1) ))"
ktap_check "coalesce: ethtool -C ntb0 rx-usecs 0" $ETHTOOL -C ntb0 rx-usecs 0
ktap_result "coalesce: off again (gro_flush_timeout $(sysfs gro_flush_timeout), napi_defer_hard_irqs $(sysfs napi_defer_hard_irqs))" \
	"$([ "$(sysfs gro_flush_timeout)" = 0 ] && [ "$(sysfs napi_defer_hard_irqs)" = 0 ] && [ "$(usecs)" = 0 ]; echo $?)"
ktap_finished
