#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec --iommu --append intel_iommu=off --append ntbvm.backend=msi -n 2 -t 360 --expect-qemu-log 0:partition.0:.write.of.4.bytes.at.0xfee[0-9a-f]{5}.from.the.peer.failed
#
# The safety rules of the MSI window (Documentation/irq-domain.md,
# "Safety") on the Switchtec model with Intel interrupt remapping. Host 1
# plays a hostile peer: with ntbnet's poke_msi test mode it writes, through
# its window onto host 0's MSI range, triggers host 0 never gave it:
#   - the remapping entry of host 0's ACPI interrupt (an IO-APIC entry,
#     another requester): not delivered;
#   - an entry that is not allocated (as a freed one is): not delivered;
#   - the entry of host 0's idle queue 15, allocated by ntbnet for the NTB
#     function: delivered (what the peer can still reach: the NTB's own
#     interrupts; it also shows the writes arrive).
# Host 0 checks which interrupts moved; the two refused writes are
# reported by host 0's side of the switch (the model's log, checked by
# vm.sh --expect-qemu-log: QEMU 7.2's VT-d drops them without telling the
# guest). Both hosts check that the window is exact and the messages are
# remapped.
. /extra/lib.sh
ktap_plan 12
D=/sys/kernel/debug/irq/irqs

ktap_check "safety: ntb0 up" ntb_up
ktap_check "safety: carrier" wait_for 60 ntb_carrier
ntb_check_backend "safety"
ktap_result "safety: the window is exactly the MSI range, interrupts remapped" \
	"$(dmesg | grep -q 'ntb0: MSI backend: window 1 translated onto 0xfee00000+0x100000, interrupts remapped (VT-d)'; echo $?)"
ktap_check "safety: peer answers" wait_for 30 ping -c 1 -W 1 "$PEER"

# irq_of NAME: the Linux IRQ of the /proc/interrupts line ending in NAME.
irq_of() { awk -v n="$1" '$NF == n { sub(":", "", $1); print $1; exit }' /proc/interrupts; }
# count IRQ: its interrupts on all CPUs.
count() {
	awk -v irq="$1:" '$1 == irq { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts
}
# ir_hwirq IRQ: its hwirq in the Intel remapping domain (index << 16 | sub).
ir_hwirq() { awk '/domain: +INTEL-IR/ { f = 1; next } f && /hwirq:/ { print $2; exit }' "$D/$1"; }
# poke_value HWIRQ: what poke_msi writes for that remapping entry: the
# VT-d remappable-format message (index in address bits 5-19 and 2, SHV and
# format bits 3 and 4; the subhandle in the data) as offset << 32 | data.
poke_value() {
	i=$(($1 >> 16)) sub=$(($1 & 0xffff))
	echo $(( ((i & 0x7fff) << 5 | (i >> 15) << 2 | 0x18) << 32 | sub ))
}

if [ "$HOST" = 0 ]; then
	q15=$(irq_of ntb0-q15) acpi=$(irq_of acpi)
	q15_ir=$(ir_hwirq "$q15") acpi_ir=$(ir_hwirq "$acpi")
	# The highest remapping index in use, and one far above it: not present.
	max=0
	for f in "$D"/*; do
		h=$(ir_hwirq "${f##*/}")
		[ -n "$h" ] && [ $((h >> 16)) -gt $max ] && max=$((h >> 16))
	done
	free=$(((max + 300) << 16))
	ktap_diag "ntb0-q15 irq $q15 IRTE $((q15_ir >> 16)), acpi irq $acpi IRTE $((acpi_ir >> 16)), unallocated IRTE $((free >> 16))"
	ktap_result "safety: remapping entries found" \
		"$([ -n "$q15_ir" ] && [ -n "$acpi_ir" ] && [ $((q15_ir >> 16)) -ne $((acpi_ir >> 16)) ]; echo $?)"
	q15_before=$(count "$q15") acpi_before=$(count "$acpi")
	ntb_send 7101 "$(poke_value "$acpi_ir") $(poke_value "$free") $(poke_value "$q15_ir")"
	done=$(ntb_recv 7102 120)
	ktap_result "safety: the peer wrote the three triggers" "$([ "$done" = done ]; echo $?)" "got '$done'"
	sleep 1
	ktap_result "safety: a write naming another device's entry raised nothing" \
		"$([ "$(count "$acpi")" = "$acpi_before" ]; echo $?)" "acpi: $acpi_before -> $(count "$acpi")"
	ktap_result "safety: the write naming ntb0-q15 raised it (the NTB's own entry)" \
		"$([ "$(count "$q15")" = $((q15_before + 1)) ]; echo $?)" "ntb0-q15: $q15_before -> $(count "$q15")"
	ktap_result "safety: no stray or unhandled interrupt" \
		"$(! dmesg | grep -Eq 'No irq handler|spurious|nobody cared' &&
		   [ "$(awk '$1 == "ERR:" { print $2 }' /proc/interrupts)" = 0 ]; echo $?)"
else
	set -- $(ntb_recv 7101 120)
	ok=0
	for v in "$@"; do
		echo "$v" > /sys/kernel/debug/ntbnet-ntb0/poke_msi
		wait_for 10 sh -c '[ "$(cat /sys/kernel/debug/ntbnet-ntb0/poke_msi)" = 0 ]' || ok=1
		# One at a time, so that host 0's side reports each.
		sleep 0.5
	done
	ktap_result "safety: poked $# triggers through the MSI window" "$([ $# = 3 ] && [ $ok = 0 ]; echo $?)"
	ktap_diag "$(dmesg | grep -o 'poke_msi: .*' | tr '\n' ';')"
	ntb_send 7102 done
	ktap_skip "safety: (host 0 finds its remapping entries)" "victim side"
	ktap_skip "safety: (host 0 checks the foreign entry)" "victim side"
	ktap_skip "safety: (host 0 checks the NTB's own entry)" "victim side"
	ktap_skip "safety: (host 0 checks for strays)" "victim side"
fi
ktap_check "safety: still pings" sh -c "ping -c 5 -i 0.2 $PEER | grep -q ' 0% packet loss'"
ntb_barrier 7103
ktap_check "safety: rmmod ntbnet" rmmod ntbnet
ktap_finished
