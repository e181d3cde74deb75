#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec --append ntbvm.backend=db -n 2 -t 300
# vm-files: vm/ntbnet_link.sh ../build/udp-gso
#
# ntbnet_link.sh on the Switchtec model without interrupt remapping: the
# MSI backend is refused (the peer could send any interrupt to this host),
# and ntb0 works on the doorbell backend, every queue behind the switch's
# one doorbell vector.
exec sh /extra/ntbnet_link.sh
