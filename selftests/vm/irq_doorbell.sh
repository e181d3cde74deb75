#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 240
#
# The NTB irq domain on the virtual NTB (hw/irqtest/ntb_irqtest.rs as an NTB
# client of ntb_hw_ivshmem, which creates its domain once the link is up):
# a forced MSI backend fails cleanly (even with allow_unsafe_msi, the
# virtual NTB cannot translate a window onto the MSI range); the automatic
# choice falls back to the doorbell backend and says why (no interrupt
# remapping); then the hosts
# raise each other's queue interrupts one at a time, in lockstep, through
# the triggers the domain hands out, and each checks that exactly the
# queue raised fired.
. /extra/lib.sh
D=/sys/kernel/debug/ntb_irqtest_ntb
N=8
ktap_plan 15

modprobe ntb_hw_ivshmem
# Past the remapping rule (the virtual NTB has none), to the window. The
# window needs the link, which comes up once both hosts' probes enabled it
# (each waits 5 s): while the peer's VM is still booting the probe fails
# before the window, with ENOTCONN and no message, and is tried again
# (on the debug kernel the two VMs came 15 s apart).
n=0
until dmesg | grep -Eq 'ntb0: MSI backend (unavailable|refused): ' || [ $n -ge $((6 * SLOWDOWN)) ]; do
	[ $n = 0 ] || rmmod ntb_irqtest
	modprobe ntb_irqtest irq_mode=msi allow_unsafe_msi=1
	n=$((n + 1))
done
ktap_result "doorbell: forced MSI backend fails cleanly on the virtual NTB" \
	"$([ ! -e $D ] && dmesg | grep -Eq 'ntb0: MSI backend (unavailable|refused): '; echo $?)"
ktap_diag "$(dmesg | grep -Eo 'ntb0: MSI backend (unavailable|refused): .*' | head -n 1)"
ktap_check "doorbell: rmmod after the failed probe" rmmod ntb_irqtest

ktap_check "doorbell: modprobe ntb_irqtest irq_mode=auto" modprobe ntb_irqtest irq_mode=auto
ktap_result "doorbell: auto mode falls back to the doorbell backend with a message" \
	"$([ "$(cat $D/backend)" = 2 ] && dmesg | grep -Eq 'ntb0: MSI backend (unavailable|refused): .*; using the doorbell backend'; echo $?)"
ktap_diag "$(dmesg | grep -Eo 'ntb0: MSI backend (unavailable|refused): .*; using.*' | head -n 1)"
ktap_result "doorbell: domain ntb0-db under /sys/kernel/debug/irq/domains" \
	"$([ -e /sys/kernel/debug/irq/domains/ntb0-db ]; echo $?)"
names=$(grep 'ntb-db' /proc/interrupts | grep -o 'ntb0-q[0-9]*$' | sort | tr '\n' ' ')
want=$(i=0; while [ $i -lt $N ]; do echo "ntb0-q$i"; i=$((i + 1)); done | sort | tr '\n' ' ')
ktap_result "doorbell: $N queue interrupts ntb0-q0..q$((N - 1)) on chip ntb-db in /proc/interrupts" \
	"$([ "$names" = "$want" ]; echo $?)" "got: $names"
link_up() { [ "$(cat $D/link)" = 1 ]; }
# link_stable: the link stays up for 2 s (times SLOWDOWN). The peer's
# forced-MSI probe above enables the link (the MSI backend needs it up)
# and fails after it came up, so a host ahead of its peer can see the
# link up while the peer has no handler yet, and its first trigger is
# lost (both hosts then waited for queue 0). The peer's rmmod and its
# auto modprobe follow within about a second, and take the link down
# and up again.
link_stable() {
	i=0
	while [ $i -lt $((20 * SLOWDOWN)) ]; do
		link_up || return 1
		sleep 0.1
		i=$((i + 1))
	done
}
ktap_check "doorbell: link up" wait_for $((30 * SLOWDOWN)) link_stable

counts() { i=0; while [ $i -lt $N ]; do printf '%s ' "$(cat $D/q$i/count)"; i=$((i + 1)); done; }
count_is() { [ "$(cat $D/q"$1"/count)" = "$2" ]; }
prefix() { i=0; while [ $i -lt $N ]; do if [ $i -le "$1" ]; then printf '1 '; else printf '0 '; fi; i=$((i + 1)); done; }

# Lockstep: host 0 raises the peer's queue q; host 1 waits for it, checks,
# and raises host 0's queue q in return; host 0 waits for that and checks.
# A round trip may take 10 s (times SLOWDOWN: on the debug kernel at load
# 20, with VM stalls of 1-2 s, one took just over 10 s, counted a moment
# later); a lost interrupt never comes.
bad=0 first_bad=
q=0
while [ $q -lt $N ]; do
	[ "$HOST" = 0 ] && echo $q > $D/fire_peer
	if ! wait_for $((10 * SLOWDOWN)) count_is $q 1; then
		bad=$((bad + 1)) first_bad=${first_bad:-"queue $q never fired: $(counts)"}
		break
	fi
	sleep 0.1
	if [ "$(counts)" != "$(prefix $q)" ]; then
		bad=$((bad + 1)) first_bad=${first_bad:-"after queue $q: $(counts)"}
	fi
	[ "$HOST" = 1 ] && echo $q > $D/fire_peer
	q=$((q + 1))
done
ktap_result "doorbell: the peer's trigger of each queue raises exactly that queue" \
	"$bad" "$first_bad"
ktap_diag "counts: $(counts)"

# Host 1 raised host 0's last queue and may be done before it arrives.
ktap_check "doorbell: the other host is done" wait_for $((10 * SLOWDOWN)) count_is $((N - 1)) 1
sleep 1
ktap_result "doorbell: no stray interrupt" "$([ "$(counts)" = "$(prefix $((N - 1)))" ]; echo $?)" \
	"counts: $(counts)"
ktap_result "doorbell: /proc/interrupts counts match" \
	"$(i=0; while [ $i -lt $N ]; do
		n=$(awk -v irq="$(cat $D/q$i/irq):" '$1 == irq { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break; print s }' /proc/interrupts)
		[ "$n" = 1 ] || { echo 1; exit; }
		i=$((i + 1))
	done; echo 0)"
echo 1 > $D/free_all
ktap_result "doorbell: free_all leaves no queue interrupt in /proc/interrupts" \
	"$(! grep -q 'ntb0-q' /proc/interrupts; echo $?)"
ktap_check "doorbell: rmmod ntb_irqtest" rmmod ntb_irqtest
ktap_result "doorbell: the domain is gone" "$([ ! -e /sys/kernel/debug/irq/domains/ntb0-db ]; echo $?)"
ktap_check "doorbell: rmmod ntb_hw_ivshmem" rmmod ntb_hw_ivshmem
ktap_finished
