#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Every message ntbnet can print is in Documentation/ntbnet.md's table
# ("Troubleshooting: every message"). The messages are the pr_err!,
# pr_warn!, pr_notice! and pr_info! format strings of net/ and of the
# src/ layers whose lines carry ntbnet's interface name (the irq domain,
# the NTB client). A message is documented when the longest literal piece
# of its format string (between {} placeholders), cut to 40 characters,
# appears in that section. A fake undocumented message must be flagged.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/host/lib.sh"
doc=$top/Documentation/ntbnet.md

# The troubleshooting section of the administrator's guide.
section=$(sed -n '/^### .*every message/,/^## /p' "$doc")

# file<TAB>fragment<TAB>format, one line per message.
messages() {
	perl -e '
		local $/;
		for my $f (@ARGV) {
			open my $fh, "<", $f or die "$f: $!";
			my $s = <$fh>;
			while ($s =~ /pr_(?:err|warn|notice|info)!\(\s*"((?:[^"\\]|\\.)*)"/g) {
				my $m = $1;
				$m =~ s/\\n$//;
				my ($frag) = sort { length($b) <=> length($a) }
					grep { /\w/ } split /\{[^}]*\}/, $m;
				$frag //= "";
				$frag =~ s/^[\s:;,]+|[\s:;,(]+$//g;
				print "$f\t", substr($frag, 0, 40), "\t$m\n";
			}
		}' "$@"
}

# Prints the messages of the given files that the section does not have.
undocumented() {
	local f frag m
	messages "$@" | while IFS=$'\t' read -r f frag m; do
		grep -qF -- "$frag" <<< "$section" || echo "${f#"$top"/}: $m"
	done
}

cd "$top"
mapfile -t sources < <(git ls-files 'net/*.rs' 'net/**/*.rs' 'src/irq/*.rs' 'src/irq/**/*.rs' \
	'src/ntb/*.rs' 2>/dev/null || find net src/irq src/ntb -name '*.rs')
count=$(messages "${sources[@]}" | wc -l)
check "messages: $count messages found in net/, src/irq/, src/ntb/" [ "$count" -ge 30 ]
[ -n "$section" ] || fail "messages: Documentation/ntbnet.md has a section 'every message'"

missing=$(undocumented "${sources[@]}")
if [ -z "$missing" ]; then
	echo "ok $((_n + 1)) messages: every message is documented in ntbnet.md"
	_n=$((_n + 1))
else
	while IFS= read -r line; do echo "# undocumented: $line"; done <<< "$missing"
	fail "messages: every message is documented in ntbnet.md" "$(wc -l <<< "$missing") missing"
fi

# The check itself: an invented message must be reported.
fake=$(mktemp --suffix=.rs)
trap 'rm -f "$fake"' EXIT
printf '%s\n' 'fn f() { pr_err!(' '    "{}: the flux capacitor of queue {} overheated\n", a, b); }' > "$fake"
check "messages: an undocumented message is flagged" \
	grep -q "flux capacitor" <<< "$(undocumented "$fake")"

summary
