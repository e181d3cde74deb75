#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec --iommu --append intel_iommu=off --append ntbvm.backend=msi -n 2 -t 300 -c 4
# vm-files: vm/ntbnet_channels.sh
#
# ntbnet_channels.sh on the Switchtec model, queue interrupts from the MSI
# backend with Intel interrupt remapping (see switchtec_ntbnet_link.sh).
exec sh /extra/ntbnet_channels.sh
