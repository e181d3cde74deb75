#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 300
#
# ntbnet against a misbehaving peer: each host in turn writes random bytes
# over the other's whole window for a few seconds (the scribble test mode)
# while pings flow. The victim stays healthy (vm.sh checks the console),
# counts what it rejected, leaks nothing, and the link comes back once the
# mode ends.
. /extra/lib.sh
ktap_plan 13
P=/sys/kernel/debug/ntbnet-ntb0/scribble

ntb_leaks_reset
ktap_check "scribble: ntb0 up" ntb_up
ktap_check "scribble: carrier" wait_for 30 ntb_carrier
ntb_check_backend "scribble"
wait_for 30 ping -c 1 -W 1 "$PEER"

# round SCRIBBLER: that host scribbles for 6 s, the other is the victim.
round() {
	ntb_barrier "$2"
	if [ "$HOST" = "$1" ]; then
		echo 1 > $P
		sleep 6
		echo 0 > $P
		ktap_check "scribble: host$1 stops scribbling, carrier back" wait_for 60 ntb_carrier
	else
		ping -c 30 -i 0.2 "$PEER" > /dev/null 2>&1 &
		bad() { [ "$(ntb_stat_sum '^(q[0-9]+_bad_|peer_refused)')" -gt "$before" ]; }
		before=$(ntb_stat_sum '^(q[0-9]+_bad_|peer_refused)')
		ktap_check "scribble: host$HOST counts host$1's garbage" wait_for 30 bad
		$ETHTOOL -S ntb0 | grep -E 'bad_|refused' | grep -v ': 0$' | sed 's/^/# /'
		wait
		ktap_check "scribble: host$HOST has a carrier again" wait_for 60 ntb_carrier
	fi
	wait_for 30 ping -c 1 -W 1 "$PEER"
	ktap_check "scribble: pings after host$1 scribbled" sh -c \
		"ping -c 10 -i 0.2 $PEER | grep -q ' 0% packet loss'"
}
round 1 6601
round 0 6602
ntb_barrier 6603
# The knobs go with their interface, first: the module stays while one is
# open; unbinding ntbnet from the NTB device removes them, and one held
# open across that fails its writes (EIO) and closes cleanly.
D=$(basename "$(readlink /sys/class/net/ntb0/device)")
exec 3> $P
ktap_check "scribble: rmmod refused while a knob is open" sh -c '! rmmod ntbnet 2> /dev/null'
echo "$D" > /sys/bus/ntb/drivers/ntbnet/unbind
ktap_check "scribble: knobs gone with the interface" sh -c \
	"[ ! -e /sys/kernel/debug/ntbnet-ntb0 ] && [ ! -e /sys/class/net/ntb0 ]"
ktap_check "scribble: a knob held open fails once its interface is gone" sh -c '! echo 1 >&3 2> /dev/null'
exec 3>&-
ktap_check "scribble: rmmod" rmmod ntbnet
ktap_result "scribble: kmemleak finds nothing" "$(ntb_leaks)"
ktap_finished
