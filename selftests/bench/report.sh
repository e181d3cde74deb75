#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# report.sh OUT: the pictures of a `make bench` run (selftests/bench.sh),
# from OUT/raw.txt and the hosts' outputs in OUT/run:
#
#   OUT/plots/METRIC.svg        every round's figure, per driver (bars)
#   OUT/profile/NAME.hostN.folded, .svg
#                               perf's call stacks (folded) and their flame
#                               graph (inferno), NAME = DRIVER.WORKLOAD
#   OUT/profile/top.md          per profile: the share of samples of the
#                               functions that were running (self time),
#                               the idle share, and the driver's share
#                               (stacks through its code)
#
# Needs only awk for the plots and top.md; the flame graphs need
# inferno-flamegraph (scripts/bootstrap-bench.sh) and are skipped without it.
set -euo pipefail

out=$1
here=$(cd "$(dirname "$0")" && pwd)
export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH

# --- Plots -----------------------------------------------------------------
mkdir -p "$out/plots"
# One SVG per metric: for each round, a bar per driver, with its value.
for m in $(awk '$1 != "ntb_perf" { print $3 }' "$out/raw.txt" | sort -u); do
	awk -v m="$m" '
		$3 == m { v[$1, $2] = $4; r[$2] = 1; d[$1] = 1; if ($4 > max) max = $4 }
		END {
			nd = 0; for (x in d) drv[++nd] = x
			# ntbnet first, then the others in name order
			for (i = 1; i <= nd; i++) for (j = i + 1; j <= nd; j++)
				if ((drv[j] == "ntbnet") || (drv[i] != "ntbnet" && drv[j] < drv[i])) { t = drv[i]; drv[i] = drv[j]; drv[j] = t }
			nr = 0; for (x in r) nr++
			if (max <= 0) max = 1
			W = 120 + nr * (nd * 50 + 30); H = 300; top = 40; base = 250
			col["ntbnet"] = "#1f77b4"; col["ntb_netdev"] = "#ff7f0e"
			printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H
			printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
			printf "<text x=\"10\" y=\"20\" font-size=\"14\">%s, per round</text>\n", m
			printf "<line x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", base, W - 10, base
			printf "<text x=\"5\" y=\"%d\">%g</text><text x=\"5\" y=\"%d\">0</text>\n", top + 4, max, base
			for (k = 1; k <= nr; k++) {
				x0 = 70 + (k - 1) * (nd * 50 + 30)
				printf "<text x=\"%d\" y=\"%d\">round %d</text>\n", x0, base + 18, k
				for (i = 1; i <= nd; i++) {
					if (!((drv[i], k) in v)) continue
					val = v[drv[i], k]; h = (base - top) * val / max
					c = (drv[i] in col) ? col[drv[i]] : "#888888"
					printf "<rect x=\"%d\" y=\"%.1f\" width=\"40\" height=\"%.1f\" fill=\"%s\"/>\n", x0 + (i - 1) * 50, base - h, h, c
					printf "<text x=\"%d\" y=\"%.1f\" font-size=\"10\">%g</text>\n", x0 + (i - 1) * 50, base - h - 3, val
				}
			}
			for (i = 1; i <= nd; i++) {
				c = (drv[i] in col) ? col[drv[i]] : "#888888"
				printf "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", 70 + (i - 1) * 110, H - 20, c, 84 + (i - 1) * 110, H - 11, drv[i]
			}
			print "</svg>"
		}' "$out/raw.txt" > "$out/plots/$m.svg"
done

# --- Profiles --------------------------------------------------------------
prof=$out/profile
mkdir -p "$prof"
rm -f "$prof"/*.folded
cat "$out"/run/host[01].out 2>/dev/null | tr -d '\r' | awk -v dir="$prof" '
	$1 == "bench-prof" { h = $2; n = $3; line = $0; sub(/^bench-prof [^ ]+ [^ ]+ /, "", line)
		print line > (dir "/" n "." h ".folded") }'
{
	echo "Where each host's CPU time went (perf record -a -g -e cpu-clock, every CPU"
	echo "of the host), attributed by call graph (selftests/bench/costs.awk): the"
	echo "busy samples (all but the idle loop) by cost centre, the driver's own"
	echo "functions, and the functions running when sampled."
	echo
} > "$prof/top.md"
tsv=$prof/costs.tsv
rm -f "$tsv"
for f in "$prof"/*.folded; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .folded)
	drv=${name%%.*}
	case $drv in
	ntbnet) re='ntbnet' ;;
	*) re='ntb_netdev|ntb_transport' ;;
	esac
	{
		echo "### $name"
		echo
		awk -v drv="$re" -v name="$name" -v tsv="$tsv" -f "$here/costs.awk" "$f"
	} >> "$prof/top.md"
	if command -v inferno-flamegraph > /dev/null; then
		inferno-flamegraph --title "$name" --countname samples < "$f" > "$prof/$name.svg" 2> /dev/null ||
			echo "report: no flame graph for $name" >&2
	fi
done

# The cost centres of every profile side by side (columns: profiles).
if [ -s "$tsv" ]; then
	awk -F'\t' '
		{ if (!($1 in col)) { col[$1] = ++nc; cn[nc] = $1 }
		  if (!($3 in row)) { row[$3] = $2; nr++ }
		  v[$3, $1] = $4 }
		END {
			printf "| share of busy samples, %% |"; for (j = 1; j <= nc; j++) printf " %s |", cn[j]; print ""
			printf "| --- |"; for (j = 1; j <= nc; j++) printf " --- |"; print ""
			for (o = 0; o < 20; o++) for (r in row) if (row[r] == o) {
				printf "| %s |", r
				for (j = 1; j <= nc; j++) printf " %s |", ((r, cn[j]) in v) ? v[r, cn[j]] : "0"
				print ""
			}
		}' "$tsv" > "$prof/summary.md"
fi
