# SPDX-License-Identifier: GPL-2.0
#
# KTAP helpers for the scripts that run inside the test VMs. vm.sh hands
# this file to every host as /extra/lib.sh; a test sources it, declares its
# plan, reports each case and ends with ktap_finished.
#
#   . /extra/lib.sh
#   ktap_plan 2
#   ktap_check "name" command args...   # ok when the command succeeds
#   ktap_result "name" "$cond" [reason] # ok when cond is 0
#   ktap_skip "name" "reason"
#   ktap_finished                       # exit status: 0 when nothing failed

KTAP_N=0
KTAP_FAILED=0

ktap_plan() {
	echo "KTAP version 1"
	echo "1..$1"
}

ktap_result() {
	KTAP_N=$((KTAP_N + 1))
	if [ "$2" = 0 ]; then
		echo "ok $KTAP_N $1"
	else
		echo "not ok $KTAP_N $1${3:+ # $3}"
		KTAP_FAILED=$((KTAP_FAILED + 1))
	fi
}

ktap_check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	[ $rc = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
	ktap_result "$name" $rc "exit $rc: $*"
}

ktap_skip() {
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N $1 # SKIP $2"
}

ktap_diag() { echo "# $*"; }

ktap_finished() {
	echo "# host$HOST: $((KTAP_N - KTAP_FAILED)) passed, $KTAP_FAILED failed"
	[ $KTAP_FAILED = 0 ]
}

# SLOWDOWN: how much slower than the test kernel this host's kernel runs
# (vm.sh's NTBNET_VM_SLOWDOWN: 3 on the debug kernel, whose KASAN, lockdep
# and kmemleak slow everything), for a test to scale a time limit that is
# about the platform's speed, not about ntbnet's behaviour.
SLOWDOWN=$(sed -n 's/.*ntbvm\.slowdown=\([0-9]*\).*/\1/p' /proc/cmdline)
SLOWDOWN=${SLOWDOWN:-1}

# wait_for SECONDS command args...: retry a command until it succeeds or
# the time runs out; every wait in the tests has a limit.
wait_for() {
	local end
	end=$(($(cut -d. -f1 /proc/uptime) + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		# Wall-clock limit: the command itself may take seconds (ping -W).
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ping_no_loss PEER [COUNT [SIZE]]: COUNT (default 10) pings of SIZE bytes
# (default 56) 0.2 s apart, and every one answered, as the kernel counts them: the echo requests this
# host sent and the echo replies it received (OutEchos, InEchoReps of
# /proc/net/snmp). Not busybox ping's own count: its raw socket has a
# 14 KiB receive buffer (SO_RCVBUF 2 * 56 + 7 KiB, doubled), and a single
# skb of ntb_netdev (a buffer of its 64 KiB MTU) fills it, so while the
# peer pings too, the peer's echo request can sit unread in the socket
# when our reply comes in, and raw_v4_input() drops the reply there
# (/proc/net/raw drops, no tracepoint): ping reports it lost although the
# link delivered it; and ping waits for the last reply only 2 RTTs (at
# least 1 s), less than a TCG VM stalls at load. Replies to earlier pings are let in first (a second
# without one); the replies of this round may come up to 10 s late. On
# failure, prints ping's output.
icmp_stat() {
	awk -v f="$1" '$1 == "Icmp:" {
		if (!n++) { for (i = 2; i <= NF; i++) if ($i == f) c = i }
		else print $c }' /proc/net/snmp
}
icmp_quiet() {
	local a
	a=$(icmp_stat InEchoReps)
	sleep 1
	[ "$a" = "$(icmp_stat InEchoReps)" ]
}
icmp_answered() { [ $(($(icmp_stat InEchoReps) - $2)) -ge $(($(icmp_stat OutEchos) - $1)) ]; }
ping_no_loss() {
	local n=${2:-10} size=${3:-56} out0 in0 out in
	wait_for 10 icmp_quiet
	out0=$(icmp_stat OutEchos) in0=$(icmp_stat InEchoReps)
	ping -c "$n" -i 0.2 -s "$size" "$1" > /tmp/ping_no_loss.txt 2>&1
	wait_for 10 icmp_answered "$out0" "$in0"
	out=$(($(icmp_stat OutEchos) - out0)) in=$(($(icmp_stat InEchoReps) - in0))
	echo "ping $1: $out echo requests sent, $in replies received (kernel counters);" \
		"ping's count: $(sed -n 's/.* \([0-9]* packets received\).*/\1/p' /tmp/ping_no_loss.txt)"
	[ "$out" = "$n" ] && [ "$in" = "$n" ] && return 0
	cat /tmp/ping_no_loss.txt
	return 1
}

# --- ntbnet tests (two hosts, one ntb0 each) ---------------------------------
#
#   ntb_up                      load the modules, address and bring up ntb0
#   ntb_check_backend NAME      KTAP: ntbnet's queue interrupt backend is $NTB_BACKEND
#   ntb_carrier / ntb_nocarrier whether ntb0 has a carrier
#   ntb_stat NAME               one `ethtool -S ntb0` counter
#   ntb_stat_sum REGEX          the sum of the counters whose name matches
#   ntb_barrier PORT [SECONDS]  both hosts meet here, over the link
#   ntb_send PORT VALUE         send a line to the peer, which ntb_recv's it
#   ntb_recv PORT [SECONDS]     print the line the peer sent
IP=/usr/bin/ip
ETHTOOL=/usr/sbin/ethtool
IPERF=/usr/bin/iperf3
ME=10.99.0.$((HOST + 1))
PEER=10.99.0.$((2 - HOST))

# The NTB under test: the Switchtec model (a Microchip function, vendor
# 0x11f8: switchtec + ntb_hw_switchtec) or the virtual NTB
# (ntb_hw_ivshmem). The queue interrupt backend ntbnet must choose there:
# ntbvm.backend=msi|db on the kernel command line (a test variant's
# vm-args --append), db (the virtual NTB's) by default.
if grep -qx 0x11f8 /sys/bus/pci/devices/*/vendor 2>/dev/null; then
	NTB_HW=switchtec NTB_HW_MODULES="switchtec ntb_hw_switchtec"
	NTB_HW_RMMOD="ntb_hw_switchtec switchtec"
else
	NTB_HW=ivshmem NTB_HW_MODULES=ntb_hw_ivshmem NTB_HW_RMMOD=ntb_hw_ivshmem
fi
NTB_BACKEND=$(sed -n 's/.*ntbvm\.backend=\([a-z]*\).*/\1/p' /proc/cmdline)
NTB_BACKEND=${NTB_BACKEND:-db}

# ntb_backend: the backend ntbnet took its queue interrupts from (msi or
# db, from its log line at the first link-up). ntb_check_backend NAME: a
# KTAP result that it is the expected one; every ntbnet test has one.
ntb_backend() { dmesg | sed -n 's/.*ntb0: [0-9]* queue interrupts (\([a-z]*\).*/\1/p' | tail -n 1; }
# On the Switchtec model the log must also say why: MSI remapped, MSI
# without remapping by the administrator's leave, or the doorbell backend
# because MSI without remapping was refused (naming the risk and the
# parameter).
ntb_check_backend() {
	local got why=0 re
	wait_for 30 sh -c "dmesg | grep -q 'ntb0: [0-9]* queue interrupts ('"
	got=$(ntb_backend)
	if [ "$NTB_HW" = switchtec ]; then
		case "$got:$(cat /sys/module/ntbnet/parameters/allow_unsafe_msi 2>/dev/null)" in
		msi:N) re='MSI backend: window [0-9]* translated onto 0xfee00000\+0x100000, interrupts remapped' ;;
		msi:Y) re='MSI backend without interrupt remapping \(allow_unsafe_msi=1\): the peer can send any interrupt' ;;
		*) re='MSI backend refused: no interrupt remapping .*any interrupt vector to any CPU.*allow_unsafe_msi=1.*; using the doorbell backend' ;;
		esac
		dmesg | grep -Eq "ntb0: $re" || why=1
		ktap_diag "$(dmesg | grep -Eo 'ntb0: MSI backend.*' | tail -n 1)"
	fi
	ktap_result "$1: queue interrupts on the $got backend of $NTB_HW (expected $NTB_BACKEND)" \
		"$([ "$got" = "$NTB_BACKEND" ] && [ $why = 0 ]; echo $?)"
}

# ntb_db_vector_irqs: interrupts of the NTB's doorbell vector(s) so far
# (Switchtec: the one switchtec_ntb_doorbell vector).
ntb_db_vector_irqs() {
	awk '/switchtec_ntb_doorbell/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts
}

ntb_up() {
	modprobe -a $NTB_HW_MODULES ntbnet &&
		$IP addr add "$ME/24" dev ntb0 &&
		$IP link set ntb0 up
}

ntb_carrier() { [ "$(cat /sys/class/net/ntb0/carrier 2>/dev/null)" = 1 ]; }
ntb_nocarrier() { ! ntb_carrier; }

ntb_stat() {
	$ETHTOOL -S ntb0 | awk -v k="$1:" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}

ntb_stat_sum() {
	$ETHTOOL -S ntb0 | awk -v re="$1" '{ sub(":", "", $1) } $1 ~ re { s += $2 } END { print s + 0 }'
}

# ntb_diag: what a failed traffic check prints for the next reader:
# ntbnet's non-zero counters, the link's and the neighbour's state, TCP's
# counters.
ntb_diag() {
	$ETHTOOL -S ntb0 2>&1 | awk 'NF == 2 && $2 != 0'
	$IP -s link show ntb0 2>&1
	$IP neigh show dev ntb0 2>&1
	grep '^Tcp:' /proc/net/snmp
}

ntb_barrier() {
	if [ "$HOST" = 0 ]; then
		timeout "${2:-60}" nc -l -p "$1" -e /bin/true
	else
		wait_for "${2:-60}" nc "$PEER" "$1" < /dev/null
	fi
}

ntb_send() {
	wait_for 60 sh -c "echo '$2' | nc $PEER $1"
}

ntb_recv() {
	printf '#!/bin/sh\ncat > /tmp/ntb_recv.%s\n' "$1" > /tmp/ntb_recv.sh.$1
	chmod +x /tmp/ntb_recv.sh.$1
	timeout "${2:-60}" nc -l -p "$1" -e /tmp/ntb_recv.sh.$1 && cat /tmp/ntb_recv.$1
}

# ntb_leaks_reset / ntb_leaks: kmemleak's count of unreferenced objects
# since the reset (two scans, 6 s apart: it reports objects unreferenced
# for 5 s, at the second scan), with the first reports as diagnostics.
ntb_leaks_reset() {
	echo scan > /sys/kernel/debug/kmemleak && echo clear > /sys/kernel/debug/kmemleak
}
ntb_leaks() {
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	n=$(grep -c 'unreferenced object' /sys/kernel/debug/kmemleak)
	[ "$n" = 0 ] || head -n 40 /sys/kernel/debug/kmemleak | sed 's/^/# /' >&2
	echo "$n"
}

# pci_find VENDOR DEVICE: the address (0000:00:04.0) of the first PCI
# function with those IDs (0x1af4 0x1110: ivshmem; 0x1234 0x11e8: edu).
pci_find() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ] &&
			basename "$d" && return 0
	done
	return 1
}

# pci_released DEV NAME: PCI function DEV holds nothing that a driver
# claiming its BARs as NAME set up (after a failed probe or an unbind):
# disabled, bus mastering off, no BAR claimed, no MSI/MSI-X vector.
pci_released() {
	d=/sys/bus/pci/devices/$1
	cmd=$(od -An -tx1 -j4 -N1 "$d/config" | tr -d ' \n')
	[ "$(cat "$d/enable")" = 0 ] && [ $((0x${cmd:-ff} & 4)) = 0 ] &&
		! grep -q "$2" /proc/iomem && [ -z "$(ls "$d/msi_irqs" 2> /dev/null)" ] ||
		{ echo "# $1: enable $(cat "$d/enable"), command 0x$cmd," \
			"$(grep -c "$2" /proc/iomem) claimed BARs, vectors: $(ls "$d/msi_irqs" 2> /dev/null | tr '\n' ' ')" >&2
		  return 1; }
}

# fail_allocs MODULE PERCENT: the debug kernel's fault injection fails
# PERCENT % of the slab and page allocations made with MODULE's code on the
# stack (a stack trace filter over the module's address range); 0: none.
# The module lies in the top 2 GiB of the address space (0xffffffff........),
# whose upper half the shell's signed arithmetic cannot hold: only the low
# 32 bits are computed.
# Allocations under the kernel's register_irq_proc() (the reject range) are
# not failed: the kernel ignores a failure there and then WARNs when the
# IRQ is freed ("remove_proc_entry: name 'smp_affinity_list'"), a kernel
# limitation that a request_irq() in the module's probe would otherwise
# hit.
fail_allocs() {
	local reject
	reject=$(awk 'f { print "0x" $1; exit } $3 == "register_irq_proc" { printf "0x%s ", $1; f = 1 }' /proc/kallsyms)
	set -- "$2" $(awk -v m="$1" '$1 == m { print $6, $2 }' /proc/modules)
	for d in failslab fail_page_alloc; do
		echo 0 > /sys/kernel/debug/$d/probability
		[ "$1" = 0 ] && continue
		case $2 in 0xffffffff????????) ;; *) echo "module at $2?" >&2; return 1 ;; esac
		low=$((0x${2#0xffffffff}))
		f=/sys/kernel/debug/$d
		echo "$2" > $f/require-start
		printf '0xffffffff%08x\n' $((low + $3)) > $f/require-end
		echo 32 > $f/stacktrace-depth
		if [ -n "${reject#* }" ]; then
			echo "${reject% *}" > $f/reject-start
			echo "${reject#* }" > $f/reject-end
		fi
		echo N > $f/task-filter
		echo 0 > $f/verbose
		echo 0 > $f/space
		echo 1 > $f/interval
		echo -1 > $f/times
		echo N > $f/ignore-gfp-wait
		echo "$1" > $f/probability
	done
	echo N > /sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem
	echo 0 > /sys/kernel/debug/fail_page_alloc/min-order
}
