#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm.sh: run a shell script on N QEMU hosts joined by a virtual NTB.
#
# Usage: selftests/vm.sh [options] SCRIPT [FILE...]
#
# Starts the project's ivshmem server, then N hosts (QEMU TCG, q35, each with
# an ivshmem-doorbell device on that server and the kernel and initramfs of
# build/), or with --ntb switchtec two hosts that are the two partitions of
# one Switchtec switch (the project's QEMU, build/qemu-system-x86_64, with
# its switchtec-ntb model), runs SCRIPT as /test.sh on every host with FILEs in /extra, and
# prints each host's output prefixed with `hostN| `. Inside SCRIPT, HOST is
# the host's number (0..N-1, also its ivshmem peer ID) and HOSTS is N; the
# project's and the kernel's NTB modules are loadable with modprobe.
#
# Options:
#   --ntb PLATFORM  ivshmem (default: the virtual NTB) or switchtec (the
#                   Switchtec model: two hosts, ntb_hw_switchtec; see
#                   Documentation/switchtec-model.md)
#   -n N            number of hosts (default 2)
#   -t SECONDS      time limit for the whole run (default 300)
#   -o DIR          keep the run's files (consoles, outputs) in DIR
#   -m MIB          shared memory size in MiB, a power of two (default 64)
#   -v VECTORS      doorbell vectors per host (default 8)
#   -c CPUS         vCPUs per host (default 2)
#   -M MIB          memory per host (default 1024)
#   --edu           add QEMU's edu device (64-bit DMA mask) to every host
#   --iommu         add an Intel IOMMU with interrupt remapping
#   --append ARGS   extra kernel command-line arguments (repeatable)
#   --restart N@T   kill host N (SIGKILL, as a crash) T seconds after it
#                   started and boot it again with the same peer ID; the
#                   script sees BOOT=K on its K-th restart (BOOT=0 first),
#                   and each boot's console is kept (hostN.console.K).
#                   Only the last boot's exit status counts. Repeatable.
#                   With T of the form /TEXT, the kill comes once the host's
#                   output has a line TEXT (no blanks; independent of load).
#   --stall MS:N@T  stop host N's QEMU (SIGSTOP) for MS milliseconds
#                   times NTBNET_VM_SLOWDOWN, then let it run on (SIGCONT):
#                   the stall of a VM that its loaded host does not run, as
#                   the peer sees it. T as for --restart (seconds after the
#                   host started, or /TEXT). Stalls come after every
#                   --restart, in the order given. Repeatable.
#   --shm-file      keep the shared memory in the run directory (shm.bin)
#   --setup CMD     run CMD (with SHM set to that file when --shm-file is
#                   given) after the server starts, before the hosts boot
#   --shm-poke OFF=VAL
#                   write VAL as a little-endian 64-bit word at byte OFF
#                   of the shared memory before the hosts boot (implies
#                   --shm-file); for tests of a corrupted header
#   --host-peer CMD run CMD (sh -c, from the source tree, with IVSHMEM_SOCKET,
#                   BUILD and NTBNET_VM_SLOWDOWN set) as one more peer of
#                   the ivshmem server once the hosts hold their peer IDs
#                   (e.g. the hostile peer, selftests/hostile); its output
#                   is peer.log, shown as `peer| `; the run fails if it
#                   exits non-zero. With --ntb switchtec -n 1 it plays
#                   partition 1 instead, on SWITCHTEC_SOCKET (QEMU_LOG: host0's QEMU log)
#   --expect-qemu-log N:ERE
#                   after the run, host N's QEMU log (stderr) must have a
#                   line matching the extended regular expression ERE (what
#                   a device model reports, e.g. the Switchtec model's
#                   failed peer accesses). Repeatable.
#   --allow-warn ERE
#                   a kernel WARNING whose "WARNING: ... at FILE:LINE FUNC"
#                   line matches ERE (spaces written as `.` in vm-args), up
#                   to its "---[ end trace" line, does not fail the run: a
#                   known WARN of the kernel's own code, not of the modules
#                   (fault injection makes some). It is still printed, as
#                   "vm.sh: hostN: allowed kernel warning". Repeatable.
#   --no-console-check
#                   do not fail on BUG:/WARNING:/Call Trace: in the consoles
#   -q              print only the summary, not the hosts' output
#
# Environment: NTBNET_BUILD, the directory with the kernel, initramfs and
# server (default build/; build/debug/ for the debug kernel);
# NTBNET_VM_SLOWDOWN, a factor for the time limit (default 1), which the
# hosts see as SLOWDOWN (selftests/lib.sh; ntbvm.slowdown= on the kernel
# command line) to scale their own time limits; NTBNET_VM_KMEMLEAK=1, a
# kmemleak scan on every host after the script (selftests/init;
# run_tests.sh sets it for the debug kernel), whose findings fail the run.
#
# Exit status: 0 when every host's script exited 0 within the time limit
# and no console shows a kernel error (including any lockdep, UBSAN, KFENCE,
# hung-task, RCU-stall or kmemleak report, and lockdep turned off by one);
# 1 otherwise, with the reason. Every process the harness starts is stopped
# on exit, failure or Ctrl-C.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NTBNET_BUILD:-$top/build}
hosts=2 limit=300 outdir= shm_mb=64 vectors=8 cpus=2 mem=1024
edu=0 iommu=0 append= console_check=1 quiet=0 shm_file=0 setup= ntb=ivshmem host_peer=
restarts=() stalls=() pokes=() qlog_expect=() boots=() warn_allow=()

usage() { sed -n '4,80p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { printf 'vm.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--ntb) ntb=$2; shift 2 ;;
	-n) hosts=$2; shift 2 ;;
	-t) limit=$2; shift 2 ;;
	-o) outdir=$2; shift 2 ;;
	-m) shm_mb=$2; shift 2 ;;
	-v) vectors=$2; shift 2 ;;
	-c) cpus=$2; shift 2 ;;
	-M) mem=$2; shift 2 ;;
	--edu) edu=1; shift ;;
	--iommu) iommu=1; shift ;;
	--append) append="$append $2"; shift 2 ;;
	--restart) restarts+=("$2"); shift 2 ;;
	--stall) stalls+=("$2"); shift 2 ;;
	--shm-file) shm_file=1; shift ;;
	--setup) setup=$2; shift 2 ;;
	--shm-poke) pokes+=("$2"); shm_file=1; shift 2 ;;
	--host-peer) host_peer=$2; shift 2 ;;
	--expect-qemu-log) qlog_expect+=("$2"); shift 2 ;;
	--allow-warn) warn_allow+=("$2"); shift 2 ;;
	--no-console-check) console_check=0; shift ;;
	-q) quiet=1; shift ;;
	-h|--help) usage 0 ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
limit=$((limit * ${NTBNET_VM_SLOWDOWN:-1}))
script=$1
shift
[ -f "$script" ] || die "no such script: $script"
for f in bzImage initramfs.cpio.gz ivshmem-server; do
	[ -f "$build/$f" ] || die "$build/$f missing: run make first (step: VM harness)"
done
case "$ntb" in
ivshmem)
	qemu=qemu-system-x86_64
	command -v $qemu >/dev/null || die "qemu-system-x86_64 missing: run make (step: VM harness)"
	;;
switchtec)
	# The project's QEMU; Debian's firmware (the +dfsg source has none).
	qemu=${NTBNET_QEMU:-$build/qemu-system-x86_64}
	[ -x "$qemu" ] || die "$qemu missing: run make (step: project QEMU)"
	# -n 1 with --host-peer: the host peer plays partition 1.
	[ "$hosts" = 2 ] || { [ "$hosts" = 1 ] && [ -n "$host_peer" ]; } ||
		die "--ntb switchtec joins exactly two hosts (-n 2, or -n 1 with --host-peer)"
	;;
*) die "--ntb: ivshmem or switchtec, not $ntb" ;;
esac

if [ -n "$outdir" ]; then
	mkdir -p "$outdir"
	run=$(cd "$outdir" && pwd)
	keep=1
else
	run=$(mktemp -d /tmp/ntbnet-vm.XXXXXX)
	keep=0
fi

pids=()
cleanup() {
	local p
	# (A host stopped by --stall takes no TERM before it runs again.)
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.2
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "$keep" = 1 ] || rm -rf "$run"
}
trap cleanup EXIT
trap 'echo "vm.sh: interrupted" >&2; exit 130' INT TERM HUP

deadline=$((SECONDS + limit))

# The virtual NTB's wire: one server, one shared memory, N peers.
sock=$run/ivshmem.sock
rm -f "$sock"
shm_args=()
[ $shm_file = 1 ] && shm_args=(--shm "$run/shm.bin")
# --keep-vectors: a restarted VM takes its old peer ID back, and QEMU 7.2's
# ivshmem writes a departed ID's next connect into freed memory (heap
# corruption, "malloc_consolidate(): unaligned fastbin chunk detected" in
# the surviving VM's QEMU); the server keeps the ID's eventfds instead and
# does not announce it again.
"$build/ivshmem-server" --socket "$sock" --size "${shm_mb}M" --vectors "$vectors" --verbose \
	--keep-vectors "${shm_args[@]}" > "$run/server.log" 2>&1 &
pids+=($!)
until [ -S "$sock" ]; do
	[ $SECONDS -lt $((deadline)) ] && kill -0 "${pids[0]}" 2>/dev/null ||
		die "ivshmem server did not start: $(cat "$run/server.log") (step: ivshmem server)"
	sleep 0.1
done

for p in "${pokes[@]}"; do
	off=$((${p%%=*})) val=$(printf '%016x' $((${p#*=})))
	le=$(printf '%s' "$val" | sed 's/../&\n/g' | tac | tr -d '\n' | sed 's/../\\x&/g')
	printf "$le" | dd of="$run/shm.bin" bs=1 seek="$off" conv=notrunc status=none ||
		die "--shm-poke $p failed (step: VM setup)"
done
if [ -n "$setup" ]; then
	SHM=$run/shm.bin sh -c "$setup" || die "setup command failed: $setup (step: VM setup)"
fi

# Each host's initramfs: the common image plus an archive with the script.
overlay() {
	local dir=$run/overlay
	rm -rf "$dir" && mkdir -p "$dir/extra"
	install -m 0755 "$script" "$dir/test.sh"
	[ $# -eq 0 ] || cp -r "$@" "$dir/extra/"
	(cd "$dir" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) | gzip -1
}
overlay "$@" > "$run/overlay.cpio.gz"
cat "$build/initramfs.cpio.gz" "$run/overlay.cpio.gz" > "$run/initrd.cpio.gz"

machine=q35
extra_dev=()
if [ $iommu = 1 ]; then
	machine=q35,kernel-irqchip=split
	extra_dev+=(-device intel-iommu,intremap=on)
fi
# Under TCG on a loaded machine the IO-APIC timer check can miss its ticks,
# and a miss is a panic at boot ("IO-APIC + timer doesn't work!", or with
# interrupt remapping "timer doesn't work through Interrupt-remapped
# IO-APIC"); seen with and without --iommu.
append="no_timer_check $append"
[ $edu = 1 ] && extra_dev+=(-device edu,dma_mask=0xffffffffffffffff)

# The NTB of host I: the ivshmem-doorbell device on the server, or partition
# I of the Switchtec switch. The switch's wire is a socket between the two
# QEMUs: host0 listens, host1 connects and reconnects (every second) when
# host0 is gone; each QEMU's RAM is a shared memfd that the peer maps.
ntb_args() {
	local i=$1
	if [ "$ntb" = ivshmem ]; then
		echo "-M $machine -chardev socket,path=$sock,id=ivsh"
		echo "-device ivshmem-doorbell,chardev=ivsh,vectors=$vectors"
		return
	fi
	echo "-L /usr/share/seabios -L /usr/share/qemu"
	echo "-object memory-backend-memfd,id=ram,size=${mem}M,share=on"
	echo "-M $machine,memory-backend=ram"
	if [ "$i" = 0 ]; then
		echo "-chardev socket,path=$run/switchtec.sock,id=swt,server=on,wait=off"
	else
		echo "-chardev socket,path=$run/switchtec.sock,id=swt,reconnect=1"
	fi
	echo "-device switchtec-ntb,chardev=swt,partition=$i,memdev=ram"
}

# start_host I BOOT: boots host I; it holds peer ID I once this returns.
# no_timer_check: under TCG on a loaded machine the IO-APIC timer check at
# boot can miss its ticks, and a miss is a panic ("IO-APIC + timer doesn't
# work!", or "timer doesn't work through Interrupt-remapped IO-APIC").
# rcu_cpu_stall_timeout=300 (the most): a vCPU that the loaded host does
# not run for 21 s is no RCU stall of the guest (a "Call Trace:" that
# fails the run); a real one still shows after 300 s.
# ntb_hw_ivshmem.peer_timeout_ms: the virtual NTB takes a peer whose
# heartbeat stood still for 500 ms for dead; a VM that the loaded host
# does not run for that long is not, and on the debug kernel (SLOWDOWN 3)
# stalls of 1.3 s were seen at load 17 (`clocksource: Long readout
# interval`; the link flapped and ntbnet_mtu counted drops): the limit
# scales with the slowdown.
# `-cpu max,la57=off`: 4-level paging. With LA57 (5-level), 6.12's
# identify_cpu() clears the boot CPU's feature bits before it reads them
# again, so for a moment pgtable_l5_enabled() is false; an interrupt in
# that window made the KASAN kernel report a wild-memory-access at a
# 5-level direct-map address (handle_edge_irq, 0.006-0.023 s into boot,
# 3 of about 25 debug boots; later kernels have a separate LA57 flag).
start_host() {
	local i=$1 boot=$2 joins
	joins=$(grep -c "peer $i joined" "$run/server.log" || true)
	: > "$run/host$i.out"
	# shellcheck disable=SC2046 # ntb_args prints words.
	"$qemu" -nodefaults -no-user-config -display none -monitor none -no-reboot \
		-accel tcg,thread=multi -cpu max,la57=off -smp "$cpus" -m "$mem" \
		"${extra_dev[@]}" $(ntb_args "$i") \
		-kernel "$build/bzImage" -initrd "$run/initrd.cpio.gz" \
		-append "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 oops=panic printk.time=1 ntbvm.host=$i ntbvm.hosts=$hosts ntbvm.boot=$boot ntbvm.slowdown=${NTBNET_VM_SLOWDOWN:-1} ntbvm.kmemleak=${NTBNET_VM_KMEMLEAK:-0} ntb_hw_ivshmem.peer_timeout_ms=$((500 * ${NTBNET_VM_SLOWDOWN:-1})) no_timer_check rcupdate.rcu_cpu_stall_timeout=300 $append" \
		-serial file:"$run/host$i.console.$boot" -serial file:"$run/host$i.out" \
		> "$run/host$i.qemu.log" 2>&1 &
	pids+=($!)
	qpids[$i]=$!
	if [ "$ntb" = switchtec ]; then
		# host0 listens before host1 connects (host1 would retry anyway).
		[ "$i" != 0 ] || until [ -S "$run/switchtec.sock" ]; do
			if [ $SECONDS -ge $deadline ] || ! kill -0 "${qpids[$i]}" 2>/dev/null; then
				cat "$run/host$i.qemu.log" >&2
				die "host$i did not start (step: VM start)"
			fi
			sleep 0.05
		done
		return
	fi
	# Start the next host only once this one holds its peer ID, so that
	# host N is ivshmem peer N.
	until [ "$(grep -c "peer $i joined" "$run/server.log")" -gt "$joins" ]; do
		if [ $SECONDS -ge $deadline ] || ! kill -0 "${qpids[$i]}" 2>/dev/null; then
			cat "$run/host$i.qemu.log" >&2
			die "host$i did not connect to the ivshmem server (step: VM start)"
		fi
		sleep 0.05
	done
}

qpids=()
started=()
for ((i = 0; i < hosts; i++)); do
	start_host "$i" 0
	started[$i]=$SECONDS
done

peer_pid=
if [ -n "$host_peer" ]; then
	(cd "$top" && IVSHMEM_SOCKET=$sock SWITCHTEC_SOCKET=$run/switchtec.sock \
		QEMU_LOG=$run/host0.qemu.log BUILD=$build \
		NTBNET_VM_SLOWDOWN=${NTBNET_VM_SLOWDOWN:-1} sh -c "$host_peer") > "$run/peer.log" 2>&1 &
	peer_pid=$!
	pids+=("$peer_pid")
fi

# Crash and reboot hosts as --restart asks, in time order.
for r in $(printf '%s\n' "${restarts[@]}" | sort -t@ -k2 -n); do
	n=${r%@*} t=${r#*@}
	[ "$n" -lt "$hosts" ] 2>/dev/null || die "--restart $r: no host $n"
	if [ "${t#/}" != "$t" ]; then
		until tr -d '\r' < "$run/host$n.out" | grep -qxF "${t#/}" || [ $SECONDS -ge $deadline ]; do
			sleep 0.2
		done
	else
		while [ $SECONDS -lt $((started[n] + t)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	fi
	echo "vm.sh: killing host$n (--restart $r)" >&2
	lefts=$(grep -c "peer $n left" "$run/server.log" || true)
	kill -KILL "${qpids[$n]}" 2>/dev/null || true
	wait "${qpids[$n]}" 2>/dev/null || true
	cat "$run/host$n.out" >> "$run/host$n.out.killed"
	# The server has seen this boot go before the next one connects.
	[ "$ntb" = switchtec ] ||
		until [ "$(grep -c "peer $n left" "$run/server.log")" -gt "$lefts" ] ||
			[ $SECONDS -ge $deadline ]; do sleep 0.05; done
	boots[n]=$((${boots[n]:-0} + 1))
	start_host "$n" "${boots[n]}"
	started[$n]=$SECONDS
done

# Stop hosts for a while as --stall asks.
for s in "${stalls[@]}"; do
	ms=${s%%:*} r=${s#*:}
	n=${r%@*} t=${r#*@}
	[ "$n" -lt "$hosts" ] 2>/dev/null && [ "$ms" -gt 0 ] 2>/dev/null || die "--stall $s: MS:N@T"
	if [ "${t#/}" != "$t" ]; then
		until tr -d '\r' < "$run/host$n.out" | grep -qxF "${t#/}" || [ $SECONDS -ge $deadline ]; do
			sleep 0.2
		done
	else
		while [ $SECONDS -lt $((started[n] + t)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	fi
	[ $SECONDS -lt $deadline ] || break
	ms=$((ms * ${NTBNET_VM_SLOWDOWN:-1}))
	echo "vm.sh: stopping host$n for $ms ms (--stall $s)" >&2
	kill -STOP "${qpids[$n]}" 2>/dev/null || true
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -CONT "${qpids[$n]}" 2>/dev/null || true
done

# Wait for every host to power off, within the time limit.
while :; do
	alive=0
	for p in "${qpids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 1 ] || break
	if [ $SECONDS -ge $deadline ]; then
		echo "vm.sh: time limit of ${limit}s reached, stopping the hosts" >&2
		break
	fi
	sleep 0.2
done
for p in "${qpids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done

# What fails a run on any console. Lockdep reports only its first finding
# and then turns itself off, so selftests/init also says when it is off.
kernel_errors='BUG:|WARNING:|Call Trace:|KASAN|UBSAN|KFENCE|unreferenced object|Kernel panic'
kernel_errors+='|possible circular locking|inconsistent lock state|lockdep turned itself off'
kernel_errors+='|INFO: task .* blocked'
# selftests/init's kmemleak check after the script (ntbvm.kmemleak=1).
kernel_errors+='|ntbnet-vm: kmemleak (found|cannot)'
status=0
for ((i = 0; i < hosts; i++)); do
	out=$run/host$i.out
	cat "$run/host$i.console".* > "$run/host$i.console"
	if [ -f "$out.killed" ] && [ $quiet = 0 ]; then
		tr -d '\r' < "$out.killed" | sed "s/^/host$i (killed boot)| /"
	fi
	tr -d '\r' < "$out" > "$out.txt"
	# (grep -v fails when a host printed nothing else.)
	[ $quiet = 1 ] || sed "s/^/host$i| /" "$out.txt" | grep -v '^host[0-9]*| ntbnet-vm: exit' || true
	rc=$(sed -n 's/^ntbnet-vm: exit \([0-9]*\)$/\1/p' "$out.txt" | tail -n 1)
	if [ -z "$rc" ]; then
		echo "vm.sh: host$i did not finish its script (boot failure or time limit); console tail:" >&2
		tail -n 20 "$run/host$i.console" | sed "s/^/host$i console| /" >&2
		status=1
	elif [ "$rc" != 0 ]; then
		echo "vm.sh: host$i script exited $rc" >&2
		status=1
	fi
	# The console without the splats of --allow-warn's warnings.
	checked=$run/host$i.checked-console
	cp "$run/host$i.console" "$checked"
	for ere in "${warn_allow[@]}"; do
		grep -E "WARNING: .*$ere" "$checked" | sed "s/^/vm.sh: host$i: allowed kernel warning: /" >&2 || true
		awk -v ere="WARNING: .*$ere" 'skip && /---\[ end trace/ { skip = 0; next }
			!skip && $0 ~ ere { skip = 1 } !skip' "$checked" > "$checked.new"
		mv "$checked.new" "$checked"
	done
	if [ $console_check = 1 ] &&
		grep -nE "$kernel_errors" "$checked" > "$run/host$i.errors"; then
		echo "vm.sh: host$i console shows kernel errors:" >&2
		grep -B2 -A30 -m1 -E "$kernel_errors" "$checked" |
			sed "s/^/host$i console| /" >&2
		status=1
	fi
done
if [ -n "$peer_pid" ]; then
	[ $quiet = 1 ] || sed 's/^/peer| /' "$run/peer.log"
	if ! kill -0 "$peer_pid" 2>/dev/null; then
		wait "$peer_pid" && rc=0 || rc=$?
		[ "$rc" = 0 ] || { echo "vm.sh: host peer exited $rc: $host_peer" >&2; status=1; }
	fi
fi
for e in "${qlog_expect[@]}"; do
	n=${e%%:*} re=${e#*:}
	if ! grep -Eq -- "$re" "$run/host$n.qemu.log" 2>/dev/null; then
		echo "vm.sh: host$n's QEMU log has no line matching '$re':" >&2
		tail -n 10 "$run/host$n.qemu.log" 2>/dev/null | sed "s/^/host$n qemu| /" >&2
		status=1
	else
		grep -E -- "$re" "$run/host$n.qemu.log" | head -n 5 | sed "s/^/host$n qemu| /" >&2
	fi
done
[ "$keep" = 0 ] || echo "vm.sh: run files in $run" >&2
exit $status
