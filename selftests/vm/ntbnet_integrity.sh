#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-args: -n 2 -t 780
#
# ntbnet: 1 GiB of random data through one TCP connection (host 1 to host
# 0, MTU 9000: GSO frames of up to 64 KiB), its MD5 computed on both ends
# and compared on both ends. Halfway, the receiver switches to receiving
# into order-0 pages (the rx_frags test mode: the path taken when the
# receive page pool has no memory). The sender is CPU-bound (md5sum and
# nc under TCG): 1 GiB takes a few minutes.
#
# On the debug kernel (SLOWDOWN > 1) the amount is divided by SLOWDOWN + 1
# (256 MiB): KASAN checks every byte md5sum, nc, the stack and ntbnet
# touch, and the transfer ran about 4 times slower there (0.41 MiB/s at
# load 3-10), so the GiB did not fit the time limits, which are about the
# platform's speed and scale with SLOWDOWN alone. Both receive paths
# still carry half each.
. /extra/lib.sh
ktap_plan 6
# 64 MiB blocks.
BLOCKS=16
[ "$SLOWDOWN" -le 1 ] || BLOCKS=$((16 / (SLOWDOWN + 1)))
MIB=$((BLOCKS * 64))

ktap_check "integrity: ntb0 up" ntb_up
$IP link set ntb0 mtu 9000
ktap_check "integrity: carrier" wait_for 30 ntb_carrier
ntb_check_backend "integrity"
wait_for 30 ping -c 1 -W 1 "$PEER"

if [ "$HOST" = 0 ]; then
	printf '#!/bin/sh\nmd5sum > /tmp/rx.md5\n' > /tmp/rx.sh
	chmod +x /tmp/rx.sh
	# Linear skbs for the first half, page fragments for the second.
	(
		while [ "$(cat /sys/class/net/ntb0/statistics/rx_bytes)" -lt $((MIB * 524288)) ]; do
			sleep 1
		done
		echo 1 > /sys/kernel/debug/ntbnet-ntb0/rx_frags
		echo "# receiving into page fragments from here"
	) &
	# The transfer's limit is about the platform's speed (SLOWDOWN: the
	# debug kernel's KASAN checks every byte md5sum, nc and the stack
	# touch), within vm.sh's limit, which run_tests.sh scales the same.
	# The transfer's output goes to a file: `timeout` kills only nc, and
	# rx.sh's md5sum, still holding ktap_check's pipe, kept the check
	# from ending at the limit.
	ktap_check "integrity: received $MIB MiB" sh -c \
		"timeout $((600 * SLOWDOWN)) nc -l -p 6201 -e /tmp/rx.sh > /tmp/rx.log 2>&1; rc=\$?; cat /tmp/rx.log; exit \$rc"
	mine=$(cut -d' ' -f1 /tmp/rx.md5)
	ntb_send 6202 "$mine"
	theirs=$(ntb_recv 6203)
else
	# 64 MiB of random data, sent BLOCKS times.
	dd if=/dev/urandom of=/tmp/blk bs=1M count=64 2>/dev/null
	[ "$(wc -c < /tmp/blk)" = 67108864 ] || echo "not ok: no 64 MiB of random data"
	# The MD5 of what is sent, computed while it is sent.
	mkfifo /tmp/tx.fifo
	md5sum < /tmp/tx.fifo > /tmp/tx.md5 &
	sleep 1
	# (Output to a file, as on host 0: the pipeline's cat, tee and nc
	# outlive the `timeout` that kills their shell.)
	ktap_check "integrity: sent $MIB MiB" sh -c \
		"timeout $((600 * SLOWDOWN)) sh -c 'i=0; while [ \$i -lt $BLOCKS ]; do cat /tmp/blk; i=\$((i + 1)); done |
			tee /tmp/tx.fifo | nc $PEER 6201' > /tmp/tx.log 2>&1; rc=\$?; cat /tmp/tx.log; exit \$rc"
	wait
	mine=$(cut -d' ' -f1 /tmp/tx.md5)
	theirs=$(ntb_recv 6202)
	ntb_send 6203 "$mine"
fi
ktap_diag "md5 here $mine, on the peer $theirs"
empty=d41d8cd98f00b204e9800998ecf8427e
ktap_result "integrity: checksums match" \
	"$([ -n "$mine" ] && [ "$mine" != $empty ] && [ "$mine" = "$theirs" ]; echo $?)"
bad=$(ntb_stat_sum '^q[0-9]+_bad_')
ktap_result "integrity: no protocol errors" "$bad"
ktap_finished
