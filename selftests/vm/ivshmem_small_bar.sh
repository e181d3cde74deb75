#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 1 -t 120 -m 4
#
# A shared memory too small for the layout (4 MiB): probe fails with a
# clear dmesg line.
. /extra/lib.sh
. /extra/bad_shm.sh
bad_shm_test "BAR too small" "too small for the NTB layout"
