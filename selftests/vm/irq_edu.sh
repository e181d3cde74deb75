#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 1 --edu -t 240
#
# The NTB irq domain's MSI backend end to end, on QEMU's edu device
# (hw/irqtest/ntb_irqtest.rs): edu's DMA engine plays the NTB peer and
# writes each queue's MSI message data at its address, as a peer's posted
# write through a window translated onto the MSI range arrives. Checks that
# each message raises exactly its queue's handler, that moving an interrupt
# to another CPU (through /proc/irq/N/smp_affinity, and by CPU hotplug)
# republishes its message (or, under interrupt remapping, keeps it) and the
# message the owner holds still raises the right handler, and that freeing
# leaves nothing behind. irq_edu_iommu.sh runs this with
# interrupt remapping.
. /extra/lib.sh
D=/sys/kernel/debug/ntb_irqtest_edu
N=8
ktap_plan 25
# Leaks are counted from here.
echo scan > /sys/kernel/debug/kmemleak && echo clear > /sys/kernel/debug/kmemleak

ktap_check "edu: modprobe ntb_irqtest" modprobe ntb_irqtest
ktap_result "edu: domain edu0-msi under /sys/kernel/debug/irq/domains, MSI backend" \
	"$([ -e /sys/kernel/debug/irq/domains/edu0-msi ] && [ "$(cat $D/backend)" = 1 ]; echo $?)"

names=$(grep -o 'edu0-q[0-9]*$' /proc/interrupts | sort | tr '\n' ' ')
want=$(i=0; while [ $i -lt $N ]; do echo "edu0-q$i"; i=$((i + 1)); done | sort | tr '\n' ' ')
ktap_result "edu: $N queue interrupts edu0-q0..q$((N - 1)) in /proc/interrupts" \
	"$([ "$names" = "$want" ]; echo $?)" "got: $names"

# Interrupt remapping keeps a message when the interrupt moves.
irq3=$(cat $D/q3/irq)
remapped=0
grep -q 'INTEL-IR\|AMD-IR' /sys/kernel/debug/irq/irqs/"$irq3" && remapped=1
ktap_diag "parent: $(grep -A1 parent: /sys/kernel/debug/irq/irqs/"$irq3" | grep -o 'domain: *[^ ]*' | head -n 1), remapped=$remapped"

cpus=$(grep -c '^processor' /proc/cpuinfo)
spread=$(i=0; while [ $i -lt $N ]; do cat /proc/irq/"$(cat $D/q$i/irq)"/effective_affinity_list; i=$((i + 1)); done | sort -u | wc -l)
ktap_result "edu: queue interrupts spread over the $cpus CPUs" \
	"$([ "$spread" -eq "$cpus" ]; echo $?)" "on $spread CPUs"

counts() { i=0; while [ $i -lt $N ]; do printf '%s ' "$(cat $D/q$i/count)"; i=$((i + 1)); done; }
count_is() { [ "$(cat $D/q"$1"/count)" = "$2" ]; }
proc_count() {
	awk -v irq="$1:" -v n="$cpus" '$1 == irq { s = 0; for (i = 2; i <= n + 1; i++) s += $i; print s }' /proc/interrupts
}

# Each queue's message, written by edu, raises exactly that queue.
q=0
while [ $q -lt $N ]; do
	echo $q > $D/fire
	wait_for 5 count_is $q 1
	sleep 0.2
	exp=$(i=0; while [ $i -lt $N ]; do if [ $i -le $q ]; then printf '1 '; else printf '0 '; fi; i=$((i + 1)); done)
	got=$(counts)
	ktap_result "edu: DMA write of queue $q's message raises edu0-q$q only" \
		"$([ "$got" = "$exp" ] && [ "$(proc_count "$(cat $D/q$q/irq)")" = 1 ]; echo $?)" "counts: $got"
	q=$((q + 1))
done

# Affinity: move queue 3 to another CPU.
old_cpu=$(cat /proc/irq/"$irq3"/effective_affinity_list)
new_cpu=$(((old_cpu + 1) % cpus))
old_msg="$(cat $D/q3/offset)/$(cat $D/q3/data)"
printf '%x' $((1 << new_cpu)) > /proc/irq/"$irq3"/smp_affinity
ktap_result "edu affinity: edu0-q3 moved from CPU $old_cpu to CPU $new_cpu" \
	"$([ "$(cat /proc/irq/"$irq3"/effective_affinity_list)" = "$new_cpu" ]; echo $?)"
new_msg="$(cat $D/q3/offset)/$(cat $D/q3/data)"
pub_msg="$(cat $D/q3/pub_offset)/$(cat $D/q3/pub_data)"
changes=$(cat $D/q3/changes)
ktap_diag "queue 3 message (offset/data): before $old_msg, after $new_msg, owner holds $pub_msg, $changes change(s)"
if [ $remapped = 1 ]; then
	ktap_result "edu affinity: remapped message unchanged, nothing to republish" \
		"$([ "$new_msg" = "$old_msg" ] && [ "$pub_msg" = "$old_msg" ] && [ "$changes" = 0 ]; echo $?)"
	ktap_skip "edu affinity: old message still raises edu0-q3" "the message did not change"
else
	ktap_result "edu affinity: change callback republished a new message" \
		"$([ "$new_msg" != "$old_msg" ] && [ "$pub_msg" = "$new_msg" ] && [ "$changes" = 1 ]; echo $?)"
	# Until the peer uses the new message, the old vector stays reserved.
	echo 3 > $D/fire_prev
	wait_for 5 count_is 3 2
	ktap_result "edu affinity: old message still raises edu0-q3 until the new one is used" \
		"$(count_is 3 2; echo $?)" "counts: $(counts)"
fi
before=$(cat $D/q3/count)
echo 3 > $D/fire
wait_for 5 count_is 3 $((before + 1))
sleep 0.2
on_new=$(awk -v irq="$irq3:" -v c="$new_cpu" '$1 == irq { print $(c + 2) }' /proc/interrupts)
ktap_result "edu affinity: the owner's message raises edu0-q3 only, on CPU $new_cpu" \
	"$([ "$(counts)" = "1 1 1 $((before + 1)) 1 1 1 1 " ] && [ "$on_new" -ge 1 ]; echo $?)" \
	"counts: $(counts), on CPU $new_cpu: $on_new"

# CPU hotplug: the interrupts of an offlined CPU move, and their messages
# are republished (kept, under remapping); what the owner holds raises them.
last=$((cpus - 1))
moved= changes_before=
i=0
while [ $i -lt $N ]; do
	if [ "$(cat /proc/irq/"$(cat $D/q$i/irq)"/effective_affinity_list)" = "$last" ]; then
		moved="$moved $i"
		changes_before="$changes_before $(cat $D/q$i/changes)"
	fi
	i=$((i + 1))
done
counts_before=$(counts)
echo 0 > /sys/devices/system/cpu/cpu$last/online
ok=0 detail=
set -- $changes_before
for i in $moved; do
	c=$(cat $D/q$i/changes)
	cpu=$(cat /proc/irq/"$(cat $D/q$i/irq)"/effective_affinity_list)
	pub="$(cat $D/q$i/pub_offset)/$(cat $D/q$i/pub_data)"
	cur="$(cat $D/q$i/offset)/$(cat $D/q$i/data)"
	want=$(($1 + 1))
	[ $remapped = 1 ] && want=$1
	if [ "$cpu" = "$last" ] || [ "$c" != "$want" ] || [ "$pub" != "$cur" ]; then
		ok=1 detail="$detail q$i: cpu $cpu, $c changes (want $want), owner $pub, domain $cur;"
	fi
	shift
done
ktap_result "edu affinity: offlining CPU $last moves queues$moved and $([ $remapped = 1 ] && echo keeps || echo republishes) their messages" \
	"$([ -n "$moved" ] && [ $ok = 0 ]; echo $?)" "$detail"
for i in $moved; do
	echo $i > $D/fire
done
exp=$(set -- $counts_before; i=0; for c in "$@"; do
	case " $moved " in *" $i "*) c=$((c + 1)) ;; esac
	printf '%s ' "$c"; i=$((i + 1)); done)
last_moved=${moved##* }
wait_for 5 count_is "$last_moved" "$(echo "$exp" | cut -d' ' -f$((last_moved + 1)))"
sleep 0.2
ktap_result "edu affinity: after CPU hotplug the owner's messages raise exactly their queues" \
	"$([ "$(counts)" = "$exp" ]; echo $?)" "counts: $(counts), want $exp"
echo 1 > /sys/devices/system/cpu/cpu$last/online

# Free one, request it again, free everything.
echo 5 > $D/free
ktap_result "edu: freeing queue 5 removes edu0-q5" \
	"$(! grep -q 'edu0-q5$' /proc/interrupts && [ "$(cat $D/q5/irq)" = 0 ]; echo $?)"
before=$(cat $D/q5/count)
echo 5 > $D/request && echo 5 > $D/fire && wait_for 5 count_is 5 $((before + 1))
ktap_result "edu: queue 5 requested again raises edu0-q5" \
	"$(grep -q 'edu0-q5$' /proc/interrupts && count_is 5 $((before + 1)); echo $?)" "counts: $(counts)"
echo 1 > $D/free_all
ktap_result "edu: free_all leaves no queue interrupt in /proc/interrupts" \
	"$(! grep -q 'edu0-q' /proc/interrupts; echo $?)"
ktap_check "edu: rmmod ntb_irqtest" rmmod ntb_irqtest
ktap_check "edu: the edu device released: disabled, BARs and vectors" \
	pci_released "$(pci_find 0x1234 0x11e8)" ntb_irqtest_edu
ktap_result "edu: the domain is gone from /sys/kernel/debug/irq/domains" \
	"$([ ! -e /sys/kernel/debug/irq/domains/edu0-msi ]; echo $?)"
# kmemleak reports objects unreferenced for 5 s, at the second scan.
echo scan > /sys/kernel/debug/kmemleak
sleep 6
echo scan > /sys/kernel/debug/kmemleak
leaks=$(grep -c 'unreferenced object' /sys/kernel/debug/kmemleak)
[ "$leaks" = 0 ] || head -n 40 /sys/kernel/debug/kmemleak | sed 's/^/# /'
ktap_result "edu: kmemleak finds nothing left after unload" "$([ "$leaks" = 0 ]; echo $?)" "$leaks leaks"
ktap_finished
