#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec --iommu --append intel_iommu=off --append ntbvm.backend=msi -n 2 -t 300
# vm-files: vm/ntbnet_iperf.sh
#
# ntbnet_iperf.sh on the Switchtec model, queue interrupts from the MSI
# backend with Intel interrupt remapping (see switchtec_ntbnet_link.sh):
# TCP both ways and with four streams, UDP, TSO frames across the link, and
# no retransmission beyond a stalled VM's (the model's link loses nothing
# either).
exec sh /extra/ntbnet_iperf.sh
