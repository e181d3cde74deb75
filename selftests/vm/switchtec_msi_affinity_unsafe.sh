#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: --ntb switchtec --append ntbnet.allow_unsafe_msi=1 --append ntbvm.backend=msi -n 2 -t 420
# vm-files: vm/switchtec_msi_affinity.sh
#
# switchtec_msi_affinity.sh without interrupt remapping, with the
# administrator's override: each move gives the queue a new message
# (vector and CPU), which ntbnet republishes to the peer; the old one keeps
# working until the peer writes the new one.
exec sh /extra/switchtec_msi_affinity.sh
