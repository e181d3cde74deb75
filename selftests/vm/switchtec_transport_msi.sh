#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec -n 2 -t 360
# vm-files: vm/switchtec_transport.inc
#
# The kernel's ntb_transport and ntb_netdev over ntb_hw_switchtec on the
# Switchtec model with use_msi=1 (the kernel's ntb_msi): each queue's
# interrupt is an MSI that the peer raises by a 32-bit write through its
# last memory window, which the model forwards to this host's QEMU as a
# DMA write to 0xfee0_xxxx. The hosts ping each other and run iperf3 for
# 10 s; the queue's MSI counts in /proc/interrupts.
. /extra/lib.sh
. /extra/switchtec_transport.inc
switchtec_transport 1
