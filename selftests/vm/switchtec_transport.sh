#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec -n 2 -t 360
# vm-files: vm/switchtec_transport.inc
#
# The kernel's ntb_transport and ntb_netdev over ntb_hw_switchtec on the
# Switchtec model, with doorbells (use_msi=0, the default): the hosts ping
# each other and run iperf3 for 10 s.
. /extra/lib.sh
. /extra/switchtec_transport.inc
switchtec_transport 0
