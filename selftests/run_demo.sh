#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run_demo.sh: `make run`. Boots two hosts joined by the virtual NTB, loads
# the modules, brings up ntb0 with addresses, pings, runs a short iperf3,
# prints `ethtool -S ntb0`, and shuts down.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
demo=$(mktemp /tmp/ntbnet-demo.XXXXXX.sh)
trap 'rm -f "$demo"' EXIT
cat > "$demo" <<'SCRIPT'
#!/bin/sh
set -e
echo "== host$HOST: loading ntb_hw_ivshmem and ntbnet"
modprobe ntb_hw_ivshmem
modprobe ntbnet
lsmod | grep -E '^(ntbnet|ntb_hw_ivshmem|ntb) '
dmesg | grep -E 'ntbnet|ntb_hw_ivshmem|ivshmem' | sed 's/^/  dmesg: /'
[ -e /sys/class/net/ntb0 ] || { echo "== host$HOST: ntbnet created no ntb0"; exit 1; }
me=10.99.0.$((HOST + 1)) peer=10.99.0.$((2 - HOST))
/usr/bin/ip addr add $me/24 dev ntb0
/usr/bin/ip link set ntb0 up
. /extra/lib.sh
carrier() { [ "$(cat /sys/class/net/ntb0/carrier 2>/dev/null)" = 1 ]; }
wait_for 60 carrier || { echo "no carrier on ntb0"; exit 1; }
/usr/bin/ip addr show ntb0
if [ "$HOST" = 0 ]; then
	/usr/bin/iperf3 -s -1 > /tmp/iperf3-server.log 2>&1 &
	wait_for 60 ping -c 1 -W 1 $peer
	wait $! || true
else
	wait_for 30 ping -c 1 -W 1 $peer
	ping -c 10 -i 0.2 $peer
	sleep 1
	/usr/bin/iperf3 -c $peer -t 5
fi
/usr/sbin/ethtool -S ntb0
SCRIPT
exec "$top/selftests/vm.sh" -n 2 -t 300 "$demo" "$top/selftests/lib.sh"
