# SPDX-License-Identifier: GPL-2.0
# Helpers for the host-side tests (selftests/host/*.sh): KTAP lines, a
# summary, and where bootstrap.sh left what they need.

echo "KTAP version 1"
_n=0 _failed=0
check() {
	local what=$1; shift
	_n=$((_n + 1))
	if "$@" > /dev/null 2>&1; then
		echo "ok $_n $what"
	else
		echo "not ok $_n $what"
		_failed=$((_failed + 1))
	fi
}
fail() {
	_n=$((_n + 1)); _failed=$((_failed + 1))
	echo "not ok $_n $1${2:+ # $2}"
}
summary() {
	echo "1..$_n"
	echo "$((_n - _failed)) passed, $_failed failed"
	[ $_failed = 0 ]
	exit
}

cache=${NTBNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ntbnet}
export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH

# Debian's linux-headers-<version>-amd64 .deb for the linux-source-6.12 in
# use (downloaded by scripts/bootstrap.sh).
debian_headers_deb() {
	local ver
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12) || return 1
	ls "$cache"/debs/linux-headers-"${ver%%-*}"+*-amd64_*.deb 2>/dev/null | head -n 1 | grep .
}
