# SPDX-License-Identifier: GPL-2.0
#
# bad_shm_test WHAT MESSAGE: for the ivshmem_bad_* tests, whose vm-args
# prepare a shared memory that ntb_hw_ivshmem must refuse.
bad_shm_test() {
	ktap_plan 5
	modprobe ntb_hw_ivshmem
	ktap_result "$1: dmesg says why" "$(dmesg | grep -q "ntb_hw_ivshmem: .*$2"; echo $?)"
	ktap_result "$1: device not bound" "$(! ls /sys/bus/pci/drivers/ntb_hw_ivshmem/ | grep -q :; echo $?)"
	ktap_result "$1: no NTB device" "$(! ls /sys/bus/ntb/devices/ 2>/dev/null | grep -q .; echo $?)"
	ktap_check "$1: the failed probe released the device" \
		pci_released "$(pci_find 0x1af4 0x1110)" ntb_hw_ivshmem
	ktap_check "$1: rmmod" rmmod ntb_hw_ivshmem
	dmesg | grep ntb_hw_ivshmem | sed 's/^/# /'
	ktap_finished
}
