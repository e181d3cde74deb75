#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec --iommu --append intel_iommu=off --append ntbvm.backend=msi -n 2 -t 600 --restart 1@/unload:streaming
# vm-files: vm/ntbnet_unload.sh
#
# ntbnet_unload.sh on the Switchtec model, MSI backend with interrupt
# remapping: unload and reload under traffic (the irq domain closes its
# window before it frees its interrupts, and opens it again), and the
# peer's VM killed while it sends and booted again (the restarted peer).
exec sh /extra/ntbnet_unload.sh
