#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 240
#
# Both project modules load on every host, bind their devices, and unload
# cleanly (the device released: disabled, no BAR, no vector); the
# ivshmem-doorbell device gives each host its own peer ID.
. /extra/lib.sh
ktap_plan 8

ivshmem=$(grep -l 0x1110 /sys/bus/pci/devices/*/device | while read -r f; do
	d=$(dirname "$f"); grep -q 0x1af4 "$d/vendor" && basename "$d"; done | head -n 1)
ktap_result "ivshmem-doorbell device present" "$([ -n "$ivshmem" ]; echo $?)"

ktap_check "modprobe ntb_hw_ivshmem" modprobe ntb_hw_ivshmem
ktap_result "ntb_hw_ivshmem bound to $ivshmem" \
	"$([ -e "/sys/bus/pci/drivers/ntb_hw_ivshmem/$ivshmem" ]; echo $?)"
ktap_result "peer id is $HOST" \
	"$(dmesg | grep -q "$ivshmem: virtual NTB port $HOST of"; echo $?)"
ktap_check "modprobe ntbnet" modprobe ntbnet
ktap_check "rmmod ntbnet" rmmod ntbnet
ktap_check "rmmod ntb_hw_ivshmem" rmmod ntb_hw_ivshmem
ktap_check "unbound: $ivshmem disabled, BARs and vectors released" \
	pci_released "$ivshmem" ntb_hw_ivshmem
ktap_finished
