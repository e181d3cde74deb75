#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh [PATTERN]: the project's test suite, run by `make test`.
#
# 1. Host unit tests (cargo test over the workspace), one KTAP line each.
# 2. Host script tests: every selftests/host/*.sh (or those matching
#    PATTERN), run on this machine (hardware kernel config, DKMS); their
#    KTAP is shown as diagnostics.
# 3. VM selftests: every selftests/vm/*.sh (or those whose name matches
#    PATTERN) runs on the hosts its `# vm-args:` line asks for, through
#    selftests/vm.sh; the hosts' own KTAP is shown as diagnostics.
#
# Prints KTAP and closes with `N passed, N failed`; exits non-zero on any
# failure. Run files are kept in build/test-runs/.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
pattern=${1:-}
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
if [ -z "$pattern" ] || [[ cargo == *$pattern* ]]; then
	if (cd "$top" && timeout 1200 cargo test --workspace --locked --quiet -- --format pretty --test-threads 2) \
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
	name=$(basename "$t" .sh)
	[ "$name" != lib ] || continue
	[ -z "$pattern" ] || [[ $name == *$pattern* ]] || continue
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
for t in "$top"/selftests/vm/*.sh; do
	name=$(basename "$t" .sh)
	[ -z "$pattern" ] || [[ $name == *$pattern* ]] || continue
	args=$(sed -n 's/^# vm-args: *//p' "$t" | head -n 1)
	# `# vm-files:` names more files for /extra, relative to selftests/.
	files=$(sed -n 's/^# vm-files: *//p' "$t" | head -n 1)
	# shellcheck disable=SC2086 # vm-args and vm-files are word lists.
	"$top/selftests/vm.sh" $args -o "$logs/$name" "$t" "$top/selftests/lib.sh" "$top/selftests/bad_shm.sh" \
		$(for f in $files; do echo "$top/selftests/$f"; done) \
		> "$logs/$name.log" 2>&1
	rc=$?
	sed 's/^/# /' "$logs/$name.log"
	if [ $rc = 0 ]; then
		record ok "vm: $name"
	else
		record "not ok" "vm: $name" "exit $rc, run files in $logs/$name"
	fi
done

echo "1..$n"
echo "$passed passed, $failed failed"
[ $failed = 0 ] && [ $n -gt 0 ]
