#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bootstrap-bench.sh: what `make bench` needs on top of scripts/bootstrap.sh:
# Debian's perf (copied into the benchmark's initramfs, where it records
# both guests), sockperf (request/response latency over UDP, with and
# without busy polling) and inferno (flame graphs from perf's stacks; the
# FlameGraph scripts are not packaged in Debian), from crates.io.
set -euo pipefail

step() { printf '  %-8s %s\n' BOOT "$*" >&2; }
die() { printf 'bootstrap-bench: %s\n' "$*" >&2; exit 1; }
export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH

declare -A pkgs=(
	[/usr/bin/perf]=linux-perf
	[/usr/bin/sockperf]=sockperf
)
missing=()
for f in "${!pkgs[@]}"; do
	[ -e "$f" ] || missing+=("${pkgs[$f]}")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "apt-get install ${missing[*]}"
	[ "$(id -u)" = 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 ${SUDO:-} apt-get update -qq || die "apt-get update failed (step: Debian packages)"
	timeout 1200 ${SUDO:-} apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed (step: Debian packages)"
fi
INFERNO_VERSION=0.12.8
if ! command -v inferno-flamegraph >/dev/null; then
	step "cargo install inferno $INFERNO_VERSION"
	timeout 1800 cargo install --locked --quiet inferno --version "$INFERNO_VERSION" ||
		die "cargo install inferno failed (step: inferno)"
fi
