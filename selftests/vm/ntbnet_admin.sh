#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 420
#
# The conventions an administrator reaches for, and the commands of
# Documentation/ntbnet.md's administrator sections: modinfo describes every
# parameter; ethtool -i shows the negotiated protocol as firmware-version;
# ethtool -P the permanent (stable) MAC; ethtool -s msglvl gates the
# driver's non-error messages; ethtool -k lists only features that work
# (each one off and on again under traffic); the tracepoints fire; the
# error counters of ip -s -s link are ethtool -S's; the tuning commands.
. /extra/lib.sh
# Host 0 watches host 1 bounce its link: five more cases.
ktap_plan $((HOST == 0 ? 32 : 27))
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T

# --- Loading ---------------------------------------------------------------------
modprobe ntb_hw_ivshmem
ktap_check "load: modprobe ntbnet" modprobe ntbnet
modinfo ntbnet > /tmp/modinfo
sed 's/^/# /' /tmp/modinfo
parms=$(grep -c '^parm:' /tmp/modinfo)
undescribed=$(grep '^parm:' /tmp/modinfo | awk '{ sub(/^parm:[ \t]*/, "") } !/^[a-z_]+:[^ ]/' | wc -l)
ktap_result "modinfo ntbnet: $parms parameters, each described, no test mode" \
	"$([ "$parms" -ge 3 ] && [ "$undescribed" = 0 ] &&
	   ! grep -Eq '^parm: *(scribble|hang|rx_frags|poke_msi):' /tmp/modinfo; echo $?)"
ktap_check "load: probe message at the default msglvl" sh -c "dmesg | grep -q 'ntbnet: ntb0: .* up to [0-9]* queues'"
$IP addr add "$ME/24" dev ntb0 && $IP link set ntb0 up
ktap_check "link: carrier" wait_for 30 ntb_carrier
ntb_check_backend "link"
wait_for 30 ping -c 1 -W 1 "$PEER"

# --- ethtool -i, -P, the message level --------------------------------------------
$ETHTOOL -i ntb0 | sed 's/^/# /'
ktap_check "ethtool -i: firmware-version is the negotiated protocol" sh -c \
	"$ETHTOOL -i ntb0 | grep -Eq '^firmware-version: ntbnet protocol [0-9]+\.[0-9]+$'"
ktap_check "ethtool -P: the permanent address is the interface's" sh -c \
	"$ETHTOOL -P ntb0 | grep -qi \"\$(cat /sys/class/net/ntb0/address)\" && [ \$(cat /sys/class/net/ntb0/addr_assign_type) = 0 ]"
ktap_check "ethtool: default message level drv probe link" sh -c \
	"$ETHTOOL ntb0 | grep -q 'Current message level: 0x00000007'"
ntb_barrier 7001

# Host 1 bounces its interface twice; host 0 has link messages off the
# first time (only the counter and the tracepoint see it), on the second.
bounce() {
	ntb_barrier "$1"
	if [ "$HOST" = 1 ]; then
		$IP link set ntb0 down; sleep 2; $IP link set ntb0 up
	fi
	wait_for 10 ntb_nocarrier
	wait_for 30 ntb_carrier
	ntb_barrier "$(($1 + 1))"
}
if [ "$HOST" = 0 ]; then
	$ETHTOOL -s ntb0 msglvl link off
	echo 1 > $T/events/ntbnet/ntbnet_link/enable
	echo > $T/trace
	ktap_check "msglvl link off: ethtool shows 0x3" sh -c "$ETHTOOL ntb0 | grep -q 'Current message level: 0x00000003'"
fi
before=$(dmesg | grep -c 'ntb0: link down')
downs=$(ntb_stat link_down)
bounce 7010
if [ "$HOST" = 0 ]; then
	ktap_result "msglvl link off: no link messages" "$([ "$(dmesg | grep -c 'ntb0: link down')" = "$before" ]; echo $?)"
	ktap_result "msglvl link off: the link did go down (counter)" "$([ "$(ntb_stat link_down)" -gt "$downs" ]; echo $?)"
	grep ntbnet_link $T/trace | sed 's/^/# /'
	ktap_check "tracepoint ntbnet_link: down and up" sh -c \
		"grep -q 'ntbnet_link: dev=ntb0 down' $T/trace && grep -q 'ntbnet_link: dev=ntb0 up queues=' $T/trace"
	$ETHTOOL -s ntb0 msglvl link on
fi
bounce 7020
if [ "$HOST" = 0 ]; then
	ktap_result "msglvl link on: link messages again" "$([ "$(dmesg | grep -c 'ntb0: link down')" -gt "$before" ]; echo $?)"
	dmesg | grep 'ntb0: link' | tail -n 2 | sed 's/^/# /'
fi
wait_for 30 ping -c 1 -W 1 "$PEER"

# --- Tracepoints on the data path --------------------------------------------------
ls $T/events/ntbnet | sed 's/^/# events\/ntbnet: /'
echo 1 > $T/events/ntbnet/enable
echo > $T/trace
ping -c 5 -i 0.2 "$PEER" > /dev/null
echo 0 > $T/events/ntbnet/enable
grep -m 4 ntbnet_ $T/trace | sed 's/^/# /'
ktap_check "tracepoint ntbnet_tx_publish fires" grep -q 'ntbnet_tx_publish: dev=ntb0 queue=[0-9]* prod=[0-9]* frames=[1-9]' $T/trace
ktap_check "tracepoint ntbnet_rx_consume fires" grep -q 'ntbnet_rx_consume: dev=ntb0 queue=[0-9]* cons=[0-9]* frames=[1-9]' $T/trace
# The same events through trace-cmd.
trace-cmd record -q -e ntbnet -o /tmp/trace.dat ping -c 3 -i 0.2 "$PEER" > /dev/null 2>&1
trace-cmd report -i /tmp/trace.dat 2> /dev/null > /tmp/report
grep -m 2 ntbnet_ /tmp/report | sed 's/^/# /'
ktap_check "trace-cmd record -e ntbnet: both data-path events" sh -c \
	"grep -q 'ntbnet_tx_publish:.*dev=ntb0' /tmp/report && grep -q 'ntbnet_rx_consume:.*dev=ntb0' /tmp/report"
ntb_barrier 7030

# --- ethtool -k: only what works --------------------------------------------------
$ETHTOOL -k ntb0 | grep -v 'off \[fixed\]' | sed 's/^/# /'
# The features that can be toggled, on by default: each one off, traffic
# (TCP through iperf3, large pings), on again.
toggles=$($ETHTOOL -k ntb0 | awk -F': ' '$2 == "on" { print $1 }' | tr '\n' ' ')
ktap_diag "toggleable and on: $toggles"
expected="rx-checksumming tx-checksumming tx-checksum-ip-generic scatter-gather tx-scatter-gather tcp-segmentation-offload tx-tcp-segmentation tx-tcp-ecn-segmentation tx-tcp6-segmentation generic-segmentation-offload generic-receive-offload"
unexpected=
for f in $toggles; do
	case " $expected " in *" $f "*) ;; *) unexpected="$unexpected $f" ;; esac
done
ktap_result "ethtool -k: nothing on but the vetted features${unexpected:+ (also:$unexpected)}" "$([ -z "$unexpected" ]; echo $?)"
[ "$HOST" = 0 ] && $IPERF -s -D -1 -p 5301 > /dev/null
ntb_barrier 7031
bad=
for f in rx tx sg tso gso gro; do
	$ETHTOOL -K ntb0 "$f" off 2> /dev/null
	ping -c 2 -s 8000 -W 2 "$PEER" > /dev/null || bad="$bad $f(ping)"
	$ETHTOOL -K ntb0 "$f" on 2> /dev/null
done
ktap_result "ethtool -K: traffic with each of rx tx sg tso gso gro off${bad:+ (failed:$bad)}" "$([ -z "$bad" ]; echo $?)"
if [ "$HOST" = 1 ]; then
	$ETHTOOL -K ntb0 tso off
	ktap_check "ethtool -K ntb0 tso off: TCP still flows" $IPERF -c "$PEER" -p 5301 -t 3
	$ETHTOOL -K ntb0 tso on
else
	ktap_result "ethtool -K ntb0 tso off: TCP still flows (host1 sends)" 0
fi
ntb_barrier 7032

# --- ip -s -s link error counters = ethtool -S ------------------------------------
# Host 1 scribbles over host 0's window for 3 s: host 0 counts protocol
# errors, and both tools must show the same numbers.
if [ "$HOST" = 1 ]; then
	echo 1 > /sys/kernel/debug/ntbnet-ntb0/scribble; sleep 3
	echo 0 > /sys/kernel/debug/ntbnet-ntb0/scribble
fi
wait_for 60 ntb_carrier
ntb_barrier 7040 90
$IP -s -s link show ntb0 > /tmp/ip
sed 's/^/# /' /tmp/ip
# ip's RX errors row: length crc frame fifo overrun; TX errors: aborted fifo window heartbt transns.
ipf() { awk -v row="$1" -v col="$2" '$1 == row && $2 == "errors:" { getline; print $col }' /tmp/ip; }
iptot() { awk -v row="$1" -v col="$2" '$1 == row":" && $2 == "bytes" { getline; print $col }' /tmp/ip; }
$ETHTOOL -S ntb0 | grep -E '^ *(rx|tx)_[a-z_]*errors' | sed 's/^/# /'
mism=
cmp() { [ "$2" = "$3" ] || mism="$mism $1(ip $2, ethtool $3)"; }
cmp rx_errors "$(iptot RX 3)" "$(ntb_stat rx_errors)"
cmp rx_length_errors "$(ipf RX 1)" "$(ntb_stat rx_length_errors)"
cmp rx_frame_errors "$(ipf RX 3)" "$(ntb_stat rx_frame_errors)"
cmp tx_errors "$(iptot TX 3)" "$(ntb_stat tx_errors)"
cmp rx_length_errors "$(ntb_stat rx_length_errors)" "$(ntb_stat_sum '^q[0-9]+_bad_desc_(len|extent)$')"
ktap_result "ip -s -s link error counters = ethtool -S${mism:+:$mism}" "$([ -z "$mism" ]; echo $?)"
# ip's dropped also counts what the stack itself dropped.
ktap_result "ip's rx dropped >= the queues' rx_dropped" \
	"$([ "$(iptot RX 4)" -ge "$(ntb_stat_sum '^q[0-9]+_rx_dropped$')" ]; echo $?)"
if [ "$HOST" = 0 ]; then
	ktap_result "... after host1 scribbled, host0 counted rx errors" "$([ "$(ntb_stat rx_errors)" -gt 0 ]; echo $?)"
else
	ktap_result "... (host0 counts the errors)" 0
fi
ntb_barrier 7041

# --- Tuning -------------------------------------------------------------------------
ktap_check "tuning: ethtool -L ntb0 combined 2" $ETHTOOL -L ntb0 combined 2
ktap_check "tuning: ethtool -G ntb0 rx 512 tx 512" $ETHTOOL -G ntb0 rx 512 tx 512
ktap_check "tuning: ip link set ntb0 mtu 9000" $IP link set ntb0 mtu 9000
# ethtool -C is not supported; the kernel's own per-device deferral is.
ktap_check "tuning: napi_defer_hard_irqs 2, gro_flush_timeout 20000" sh -c \
	"echo 2 > /sys/class/net/ntb0/napi_defer_hard_irqs && echo 20000 > /sys/class/net/ntb0/gro_flush_timeout"
wait_for 60 ntb_carrier
# With the doorbell backend (the virtual NTB) the queue interrupts are
# raised from the NTB's doorbell vectors: those are the ones to place; a
# queue interrupt itself refuses to move. (With the MSI backend each
# ntb0-q<N> moves by itself.)
irq=$(awk '/ ntb0-q0$/ { sub(":", "", $1); print $1 }' /proc/interrupts)
db=$(awk '/ ntb-ivshmem[0-9]*-db0$/ { sub(":", "", $1); print $1 }' /proc/interrupts)
grep -E ' (ntb0-q0|ntb-ivshmem[0-9]*-db0)$' /proc/interrupts | sed 's/^/# /'
ktap_check "tuning: IRQ affinity of the doorbell vector (IRQ $db) to CPU 1" sh -c \
	"echo 1 > /proc/irq/$db/smp_affinity_list && grep -qx 1 /proc/irq/$db/smp_affinity_list"
ktap_check "tuning: ntb0-q0 (IRQ $irq, doorbell backend) follows its vector, cannot move" sh -c \
	"dmesg | grep -q 'ntb0: [0-9]* queue interrupts (db)' && ! echo 1 > /proc/irq/$irq/smp_affinity_list"
ntb_barrier 7050 90
wait_for 30 ping -c 1 -W 1 "$PEER"
ktap_check "tuning: ping -s 8000 after the changes" ping -c 3 -s 8000 -W 2 "$PEER"
$ETHTOOL -l ntb0 | sed 's/^/# /'
lastup() { dmesg | grep 'ntb0: link up' | tail -n 1 | grep -q 'link up: 2 queues, 512 descriptors'; }
ktap_check "tuning: the link runs 2 queues, 512 descriptors" wait_for 30 lastup
ntb_barrier 7051
ktap_check "rmmod ntbnet" rmmod ntbnet
# The level at load: the debug parameter (netif_msg_init), 0 = silent.
n=$(dmesg | grep -c 'ntbnet: ntb0: .* up to [0-9]* queues')
modprobe ntbnet debug=0
ktap_check "modprobe ntbnet debug=0: message level 0, no probe message" sh -c \
	"$ETHTOOL ntb0 | grep -q 'Current message level: 0x00000000' && [ \$(dmesg | grep -c 'ntbnet: ntb0: .* up to [0-9]* queues') = $n ]"
rmmod ntbnet
ktap_finished
