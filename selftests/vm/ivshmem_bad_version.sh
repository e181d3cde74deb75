#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 1 -t 120 --shm-poke 0=0x4d4853564942544e --shm-poke 8=1
#
# A shared memory laid out by another protocol version ("NTBIVSHM", v1,
# which had no `seen` word in the port block):
# probe fails with a clear dmesg line naming both versions.
. /extra/lib.sh
. /extra/bad_shm.sh
bad_shm_test "other version" "uses layout version 1; this driver speaks version 2"
