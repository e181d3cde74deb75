#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh [PATTERN]: the project's test suite, run by `make test`.
#
# PATTERN selects the tests whose name contains it (a shell glob); a
# leading `^` anchors it at the name's start and a trailing `$` at its end,
# so `^ntb_tool$` is ntb_tool alone, not switchtec_ntb_tool too.
#
# 1. Host unit tests (cargo test over the workspace), one KTAP line each.
# 2. Host script tests: every selftests/host/*.sh (or those matching
#    PATTERN), run on this machine (hardware kernel config, DKMS); their
#    KTAP is shown as diagnostics.
# 3. VM selftests: every selftests/vm/*.sh (or those whose name matches
#    PATTERN) runs on the hosts its `# vm-args:` line asks for, through
#    selftests/vm.sh; the hosts' own KTAP is shown as diagnostics.
# 4. With NTBNET_KERNELS="base debug" (what `make test` sets; `base`
#    alone by default), the VM tests whose `# vm-kernels:` line names
#    `debug` run again on the debug kernel of build/debug/ (`make debug`),
#    with their time limits tripled (KASAN and lockdep slow the VMs) and
#    a kmemleak scan on every host after its script (NTBNET_VM_KMEMLEAK,
#    selftests/init): a leak fails the test. A test without the line runs
#    on `base` only.
#    NTBNET_DEBUG_ALL=1 (`make test-debug-all`, not in CI: it takes hours)
#    runs every VM test on the debug kernel, whatever its line says.
#
# A failing VM test runs once more (see "A VM test that fails runs once
# more" in Documentation/testing.md).
#
# Prints KTAP and closes with `N passed, N failed`; exits non-zero on any
# failure. Run files are kept in build/test-runs/.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
pattern=${1:-}
# selected NAME: whether PATTERN (above) selects the test NAME.
selected() {
	local p=$pattern head='*' tail='*'
	[ -n "$p" ] || return 0
	[[ $p != ^* ]] || { p=${p#^}; head=; }
	[[ $p != *\$ ]] || { p=${p%\$}; tail=; }
	# shellcheck disable=SC2053 # PATTERN is a glob by design.
	[[ $1 == $head$p$tail ]]
}
# NTBNET_SUITE=stress (`make stress`): the VM scripts of selftests/stress/
# instead of the host tests and selftests/vm/.
suite=${NTBNET_SUITE:-vm}
# The host tests run with the base kernel's pass only.
[[ " ${NTBNET_KERNELS:-base} " == *" base "* ]] || suite=vm-only
logs=$top/build/test-runs
rm -rf "$logs" && mkdir -p "$logs"
export PATH=$HOME/.cargo/bin:$PATH

# Results stream out as they come; the plan follows at the end, as KTAP
# allows, since the number of host unit tests is known only once they ran.
echo "KTAP version 1"
n=0 passed=0 failed=0
record() {
	n=$((n + 1))
	if [ "$1" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	echo "$1 $n $2${3:+ # $3}"
}

# --- Host unit tests --------------------------------------------------------
if [ "$suite" = vm ] && selected cargo; then
	# --no-fail-fast: a failing test binary must not hide the others' results
	# (without it cargo stops at the first failing binary and the rest of
	# the host tests are neither run nor counted).
	if (cd "$top" && timeout 1200 cargo test --workspace --locked --quiet --no-fail-fast -- --format pretty --test-threads 2) \
		> "$logs/cargo.log" 2>&1; then
		cargo_rc=0
	else
		cargo_rc=$?
	fi
	n_before=$n
	while IFS= read -r line; do
		case "$line" in
		"test "*" ... ok") t=${line#test }; record ok "cargo: ${t% ... ok}" ;;
		"test "*" ... FAILED") t=${line#test }; record "not ok" "cargo: ${t% ... FAILED}" ;;
		"test "*" ... ignored") t=${line#test }; record ok "cargo: ${t% ... ignored}" SKIP ;;
		esac
	done < "$logs/cargo.log"
	if [ $cargo_rc != 0 ] && ! grep -q '\.\.\. FAILED' "$logs/cargo.log"; then
		record "not ok" "cargo: build and run" "exit $cargo_rc, see $logs/cargo.log"
		tail -n 30 "$logs/cargo.log" | sed 's/^/# /'
	elif [ $n = "$n_before" ]; then
		record "not ok" "cargo: no host unit test ran" "see $logs/cargo.log"
	fi
fi

# --- Host script tests ------------------------------------------------------
for t in "$top"/selftests/host/*.sh; do
	[ "$suite" = vm ] || break
	name=$(basename "$t" .sh)
	[ "$name" != lib ] || continue
	selected "$name" || continue
	timeout 900 "$t" > "$logs/$name.log" 2>&1
	rc=$?
	sed 's/^/# /' "$logs/$name.log"
	if [ $rc = 0 ]; then
		record ok "host: $name"
	else
		record "not ok" "host: $name" "exit $rc, log in $logs/$name.log"
	fi
done

# --- VM selftests -----------------------------------------------------------
# A VM test that fails runs once more (NTBNET_RETRY=0: never), but only in
# the first NTBNET_RETRY_UNTIL seconds of the suite (default 3600, so that a
# broken tree cannot double CI's time). Both runs' output is shown; a test
# that passes only on its second run is reported `ok ... # flaky: ...` and
# listed at the end. TCG guests on a loaded host occasionally miss a timing;
# a test that fails twice is a failure.
retry=${NTBNET_RETRY:-1} retry_until=${NTBNET_RETRY_UNTIL:-3600} flaky=
for kernel in ${NTBNET_KERNELS:-base}; do
	if [ "$kernel" = base ]; then
		build=$top/build label=vm out=$logs slowdown=1 kmemleak=0
	else
		build=$top/build/$kernel label="vm[$kernel]" out=$logs/$kernel slowdown=3 kmemleak=1
		mkdir -p "$out"
	fi
	for t in "$top/selftests/${suite%-only}"/*.sh; do
		name=$(basename "$t" .sh)
		selected "$name" || continue
		kernels=$(sed -n 's/^# vm-kernels: *//p' "$t" | head -n 1)
		[ "$kernel" = debug ] && [ "${NTBNET_DEBUG_ALL:-0}" = 1 ] && kernels=debug
		[[ " ${kernels:-base} " == *" $kernel "* ]] || continue
		args=$(sed -n 's/^# vm-args: *//p' "$t" | head -n 1)
		# `# vm-files:` names more files for /extra, relative to selftests/.
		files=$(sed -n 's/^# vm-files: *//p' "$t" | head -n 1)
		start=$SECONDS
		run_vm() {
			# shellcheck disable=SC2086 # vm-args and vm-files are word lists.
			NTBNET_BUILD=$build NTBNET_VM_SLOWDOWN=$slowdown NTBNET_VM_KMEMLEAK=$kmemleak \
				"$top/selftests/vm.sh" $args -o "$out/$name" "$t" "$top/selftests/lib.sh" "$top/selftests/bad_shm.sh" \
				$(for f in $files; do echo "$top/selftests/$f"; done) \
				> "$out/$name.log" 2>&1
		}
		run_vm
		rc=$?
		sed 's/^/# /' "$out/$name.log"
		echo "# $label: $name took $((SECONDS - start)) s"
		retried=
		if [ $rc != 0 ] && [ "$retry" = 1 ] && [ $SECONDS -lt "$retry_until" ]; then
			# One more run, its output shown like the first's; the first
			# run's files are kept beside it (see Documentation/testing.md).
			mv "$out/$name" "$out/$name.run1" && mv "$out/$name.log" "$out/$name.run1.log"
			echo "# $label: $name failed (exit $rc); running it once more, the first run's files are in $out/$name.run1"
			start=$SECONDS
			run_vm
			rc=$?
			sed 's/^/# /' "$out/$name.log"
			echo "# $label: $name (second run) took $((SECONDS - start)) s"
			retried=1
		fi
		if [ $rc = 0 ] && [ -n "$retried" ]; then
			flaky="$flaky $label:$name"
			record ok "$label: $name" "flaky: failed once, passed on its second run; first run in $out/$name.run1"
		elif [ $rc = 0 ]; then
			record ok "$label: $name"
		else
			record "not ok" "$label: $name" "exit $rc, run files in $out/$name"
		fi
	done
done

[ -z "$flaky" ] || echo "# flaky (passed on their second run):$flaky"
echo "1..$n"
echo "$passed passed, $failed failed"
[ $failed = 0 ] && [ $n -gt 0 ]
