#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 1 -t 300 --allow-warn at.mm/vmalloc.c:[0-9]+.alloc_vmap_area
# vm-kernels: debug
#
# ntb_hw_ivshmem's probe unwinds on every error path: with 1, 2, 5, 10 or
# 20 % of the allocations made with its code on the stack failing in turn
# (the debug kernel's fault injection: its own and the kernel's, for the
# interrupt vectors, the handlers, the NTB device; the lower rates fail
# later in the probe), the device is bound and unbound $N times. After each failed probe, as after each unbind, the PCI function
# is as the driver found it: disabled, bus mastering off, no BAR claimed,
# no vector (pci_released). Then, with the failures off, it binds; nothing
# leaked (kmemleak) and nothing warned (vm.sh checks the console).
# One kernel WARN is allowed: alloc_vmap_area()'s WARN_ON_ONCE when both
# its preloaded node and its GFP_NOWAIT fallback allocation were failed by
# the injection (mm/vmalloc.c va_alloc(), under the probe's memremap() of
# the shared memory); the kernel then fails the mapping with ENOMEM, which
# the probe unwinds like any other failure (seen once in a CI run).
. /extra/lib.sh
ktap_plan 6
N=40
if [ ! -d /sys/kernel/debug/failslab ] || [ ! -d /sys/kernel/debug/fail_page_alloc ]; then
	for i in $(seq 6); do ktap_skip "ivshmem failslab: case $i" "no fault injection in this kernel"; done
	ktap_finished
	exit 0
fi
D=/sys/bus/pci/drivers/ntb_hw_ivshmem
dev=$(pci_find 0x1af4 0x1110)
ntb_leaks_reset
# Loaded but not bound, so that the binds below run under injection.
echo 0 > /sys/bus/pci/drivers_autoprobe
ktap_check "ivshmem failslab: modprobe ntb_hw_ivshmem, $dev not bound" \
	sh -c "modprobe ntb_hw_ivshmem && [ -n '$dev' ] && [ ! -e $D/$dev ]"
echo 1 > /sys/bus/pci/drivers_autoprobe
bound=0 failed=0 bad=0 i=0
while [ $i -lt $N ]; do
	i=$((i + 1))
	set -- 1 2 5 10 20
	shift $((i % 5))
	fail_allocs ntb_hw_ivshmem "$1"
	if echo "$dev" > $D/bind 2> /dev/null; then
		bound=$((bound + 1))
		echo "$dev" > $D/unbind
	else
		failed=$((failed + 1))
	fi
	pci_released "$dev" ntb_hw_ivshmem || bad=$((bad + 1))
done
fail_allocs ntb_hw_ivshmem 0
ktap_result "ivshmem failslab: $N binds under injection: $failed probes failed, $bound bound" \
	"$([ $failed -gt 0 ]; echo $?)"
ktap_result "ivshmem failslab: each failed probe and each unbind released $dev" \
	"$([ $bad = 0 ]; echo $?)" "$bad of $N left something"
bind() { echo "$dev" > $D/bind && [ -e "$D/$dev" ] && [ -n "$(ls /sys/bus/ntb/devices/)" ]; }
ktap_check "ivshmem failslab: binds without injection, an NTB device" bind
unload() { rmmod ntb_hw_ivshmem && pci_released "$dev" ntb_hw_ivshmem; }
ktap_check "ivshmem failslab: rmmod, $dev released" unload
ktap_result "ivshmem failslab: kmemleak finds nothing" "$(ntb_leaks)"
ktap_finished
