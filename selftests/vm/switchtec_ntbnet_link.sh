#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec --iommu --append intel_iommu=off --append ntbvm.backend=msi -n 2 -t 300
# vm-files: vm/ntbnet_link.sh ../build/udp-gso
#
# ntbnet_link.sh on the Switchtec model with Intel interrupt remapping
# (DMA remapping off: the model maps windows onto RAM directly only
# without DMA translation): ntbnet takes its queue interrupts from the MSI
# backend, remapped, and the switch's one doorbell vector carries none.
exec sh /extra/ntbnet_link.sh
