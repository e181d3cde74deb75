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

# wait_for SECONDS command args...: retry a command until it succeeds or
# the time runs out; every wait in the tests has a limit.
wait_for() {
	local t=$1 i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le $((t * 10)) ] || return 1
		sleep 0.1
	done
}
