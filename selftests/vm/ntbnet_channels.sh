#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300 -c 4
# vm-kernels: base debug
#
# ntbnet: queue count and ring size change (ethtool -L/-G) while TCP
# streams flow; the link renegotiates (fewer queues on either side win),
# traffic goes on, limits are enforced.
. /extra/lib.sh
ktap_plan 15

ktap_check "channels: ntb0 up" ntb_up
ktap_check "channels: carrier" wait_for 30 ntb_carrier
ntb_check_backend "channels"
wait_for 30 ping -c 1 -W 1 "$PEER"
max=$($ETHTOOL -l ntb0 | awk '/^Combined:/ { print $2; exit }')
cur=$($ETHTOOL -l ntb0 | awk '/^Combined:/ { n++; if (n == 2) print $2 }')
ktap_result "channels: default $cur of $max (4 CPUs)" "$([ "$cur" = 4 ]; echo $?)"
ktap_result "channels: more than the maximum refused" \
	"$($ETHTOOL -L ntb0 combined $((max + 1)) 2>/dev/null; [ $? != 0 ]; echo $?)"
ktap_result "channels: ring size 100 (not a power of two) refused" \
	"$($ETHTOOL -G ntb0 rx 100 2>/dev/null; [ $? != 0 ]; echo $?)"
ntb_barrier 6401

# A 30 s, 4-stream transfer from host 1 to host 0 while both hosts change
# their queue counts and ring sizes.
if [ "$HOST" = 0 ]; then
	timeout 120 $IPERF -s -1 > /tmp/iperf.log 2>&1 &
	steps="-L:2 -G:512 -L:3 -G:128 -L:4"
else
	sleep 1
	timeout 120 $IPERF -c "$PEER" -t 30 -P 4 > /tmp/iperf.log 2>&1 &
	steps="-L:1 -L:4 -G:1024 -L:2 -G:256"
fi
sleep 3
ok=0
for s in $steps; do
	case $s in
	-L:*) $ETHTOOL -L ntb0 combined ${s#-L:} || ok=1 ;;
	-G:*) $ETHTOOL -G ntb0 rx ${s#-G:} tx ${s#-G:} || ok=1 ;;
	esac
	sleep 4
done
ktap_result "channels: 5 changes under traffic" $ok
wait $!
rc=$?
grep -E 'SUM.*(sender|receiver)' /tmp/iperf.log | sed 's/^/# /'
ktap_result "channels: TCP streams survived" $rc
ntb_barrier 6402

# Host 0 ends with 4 queues, host 1 with 2: the link runs 2.
ktap_check "channels: link back up" wait_for 30 ntb_carrier
n=$(ls -d /sys/class/net/ntb0/queues/tx-* | wc -l)
ktap_result "channels: the smaller count wins ($n tx queues)" "$([ "$n" = 2 ]; echo $?)"
ring=$($ETHTOOL -g ntb0 | awk '/^RX:/ { n++; if (n == 2) print $2 }')
ktap_result "channels: ring size agreed ($ring)" "$([ "$ring" = 256 ] || [ "$ring" = 128 ]; echo $?)"
wait_for 20 ping -c 1 -W 1 "$PEER"
# percpu Q: queue Q's interrupt counts, one per CPU.
percpu() { awk -v n="ntb0-q$1" 'NR == 1 { c = NF; next } $NF == n { s = ""; for (i = 2; i <= c + 1; i++) s = s " " $i; print s }' /proc/interrupts; }
# unused_irqs N: the interrupts so far of the queues from N on.
unused_irqs() {
	awk -v n="$1" 'NR == 1 { c = NF; next } $NF ~ /^ntb0-q[0-9]+$/ && substr($NF, 7) + 0 >= n { for (i = 2; i <= c + 1; i++) s += $i } END { print s + 0 }' /proc/interrupts
}
for q in $(seq 0 $((n - 1))); do eval "before$q=\"$(percpu $q)\""; done
unused_before=$(unused_irqs "$n")
ktap_check "channels: ping, no loss" ping_no_loss "$PEER" 10
# The queue interrupts stay one per queue the interface can have across
# the changes, and no handler runs for a queue the link does not use.
unused=$(($(unused_irqs "$n") - unused_before))
irqs=$(grep -c ' ntb0-q[0-9]*$' /proc/interrupts)
ktap_result "channels: $irqs queue interrupts for $max queues, none of a queue not in use ($unused on queues $n-$((max - 1)))" \
	"$([ "$irqs" = "$max" ] && [ "$unused" = 0 ]; echo $?)"
# Each queue's interrupts came on a CPU that transmit steering gives the
# queue (xps_cpus), and its affinity hint is one of them: a flow is sent,
# completed and received on one CPU.
stray=0 total=0 hints=0
for q in $(seq 0 $((n - 1))); do
	xps=$((0x$(tr -d , < /sys/class/net/ntb0/queues/tx-$q/xps_cpus)))
	irq=$(awk -v n="ntb0-q$q" '$NF == n { sub(":", "", $1); print $1 }' /proc/interrupts)
	hint=$((0x$(tr -d , < /proc/irq/$irq/affinity_hint)))
	[ $((hint & xps)) != 0 ] || hints=$((hints + 1))
	eval "set -- \$before$q"
	cpu=0
	for c in $(percpu $q); do
		d=$((c - $1))
		shift
		total=$((total + d))
		[ $(((xps >> cpu) & 1)) = 1 ] || stray=$((stray + d))
		cpu=$((cpu + 1))
	done
	ktap_diag "queue $q: irq $irq, xps_cpus $(printf %x $xps), affinity hint $(printf %x $hint), per CPU$(percpu $q)"
done
ktap_result "channels: each queue's interrupts on its XPS CPUs ($stray of $total elsewhere), hints agree ($hints do not)" \
	"$([ "$stray" = 0 ] && [ "$total" -gt 0 ] && [ "$hints" = 0 ]; echo $?)"
ntb_barrier 6403
bad=$(ntb_stat_sum '^q[0-9]+_bad_')
ktap_result "channels: no protocol errors" "$bad"
ktap_finished
