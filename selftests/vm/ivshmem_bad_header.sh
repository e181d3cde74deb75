#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 1 -t 120 --shm-poke 0=0x1122334455667788
#
# A shared memory whose header has an unknown magic: probe fails with a
# clear dmesg line, no NTB device appears, the module unloads.
. /extra/lib.sh
. /extra/bad_shm.sh
bad_shm_test "unknown header" "shared memory has an unknown header"
