#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 1 --edu --iommu -t 240
# vm-files: vm/irq_edu.sh
#
# irq_edu.sh under an Intel IOMMU with interrupt remapping: the domain's
# parent is the remapping domain, each message is a remapping handle
# programmed with edu's requester ID, and moving an interrupt rewrites the
# remapping entry instead of the message.
exec sh /extra/irq_edu.sh
