#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 1 -t 180
#
# The kernel's own NTB modules, which the other tests use as baselines and
# outside test suites, are in the image and load and unload. ntb_netdev
# refuses to load until ntb_transport has bound an NTB device, so here it
# is only checked for presence; the transport tests load it.
. /extra/lib.sh
mods="ntb ntb_transport ntb_tool ntb_pingpong ntb_perf switchtec ntb_hw_switchtec"
ktap_plan 15
ktap_check "modinfo ntb_netdev" modinfo ntb_netdev
for m in $mods; do
	ktap_check "modprobe $m" modprobe "$m"
done
for m in ntb_hw_switchtec switchtec ntb_perf ntb_pingpong ntb_tool ntb_transport ntb; do
	ktap_check "rmmod $m" rmmod "$m"
done
ktap_finished
