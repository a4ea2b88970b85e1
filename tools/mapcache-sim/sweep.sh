#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# sweep.sh BIN OUTDIR TRACE...: sweep the access-graph prefetch knobs of
# mapcache-sim one at a time around the defaults (succ 2, depth 4, width 1,
# max 8, 4 graph nodes per quota page, prefetch may evict), every other knob
# at its default, on every TRACE at 25/50/75% quota, with lru+pf and lirs+pf
# (and lru, lirs without prefetch as the baseline); then a few combinations
# ("combo") the single-knob results point to.  Writes:
#
#   OUTDIR/sweep.csv    one row per knob value, trace, policy and quota: the
#                       simulator's CSV columns, prefixed by knob,value,label,
#                       args and followed by pf_wasted (issued - useful)
#   OUTDIR/summary.csv  per knob value and policy: mean pin-hit % over the
#                       traces at each quota, and prefetches issued / useful
#                       / wasted summed over traces and quotas
#   OUTDIR/grid.csv     the same columns as the simulator's CSV, prefixed by
#                       width,depth,max: a grid over the knobs that interact
#                       (width = succ 1-3, depth 2-8, max 4-32); GRID=0 skips
#   OUTDIR/sweep.txt    the summary as one compact table per knob, the
#                       baseline and combinations per trace, how often a
#                       page's next page is its latest or previous successor,
#                       and the grid, best first
#
# Called by "make -C tools/mapcache-sim sweep"; about 20 s on one core.
# QUOTAS and POLICIES override the quotas and the prefetching policies.
set -euo pipefail

BIN=$1
OUTDIR=$2
shift 2
[ $# -gt 0 ] || { echo "usage: $0 BIN OUTDIR TRACE..." >&2; exit 2; }
QUOTAS=${QUOTAS:-.25,.5,.75}
POLICIES=${POLICIES:-lru+pf,lirs+pf}

# knob  value  label  simulator options (the defaults are explicit below)
DEF="--pf-succ 2 --pf-depth 4 --pf-width 1 --pf-max 8 --pf-nodes 4 --pf-evict 1"
CONFIGS=(
	"none	-	off	-p lru,lirs"
	"succ	1	1	--pf-succ 1"
	"succ	2	2	--pf-succ 2"
	"succ	3	3	--pf-succ 3"
	"succ	4	4	--pf-succ 4"
	# at width 1 only the most recent successor is ever followed; the
	# width-2 rows show that keeping more than width changes nothing
	"succ	2	2(width2)	--pf-succ 2 --pf-width 2"
	"succ	3	3(width2)	--pf-succ 3 --pf-width 2"
	"succ	4	4(width2)	--pf-succ 4 --pf-width 2"
	"depth	1	1	--pf-depth 1"
	"depth	2	2	--pf-depth 2"
	"depth	3	3	--pf-depth 3"
	"depth	4	4	--pf-depth 4"
	"depth	6	6	--pf-depth 6"
	"depth	8	8	--pf-depth 8"
	# width is clamped to succ: 3 and 4 need succ raised with it
	"width	1	1	--pf-width 1"
	"width	2	2	--pf-width 2"
	"width	3	3(succ3)	--pf-width 3 --pf-succ 3"
	"width	4	4(succ4)	--pf-width 4 --pf-succ 4"
	# with width 1 a prediction holds at most depth pages, so max only
	# binds below depth; the depth-8 and width-2 rows show it where it can
	"max	1	1	--pf-max 1"
	"max	2	2	--pf-max 2"
	"max	4	4	--pf-max 4"
	"max	8	8	--pf-max 8"
	"max	16	16	--pf-max 16"
	"max	4	4(depth8)	--pf-max 4 --pf-depth 8"
	"max	8	8(depth8)	--pf-max 8 --pf-depth 8"
	"max	16	16(depth8)	--pf-max 16 --pf-depth 8"
	"max	4	4(width2)	--pf-max 4 --pf-width 2"
	"max	8	8(width2)	--pf-max 8 --pf-width 2"
	"max	16	16(width2)	--pf-max 16 --pf-width 2"
	# graph nodes per quota page; the simulator caps the graph at the
	# trace's distinct pages + 16 (4/page at 25% quota is already 1/page)
	"nodes	0.25	0.25	--pf-nodes 0.25"
	"nodes	0.5	0.5	--pf-nodes 0.5"
	"nodes	1	1	--pf-nodes 1"
	"nodes	2	2	--pf-nodes 2"
	"nodes	3	3	--pf-nodes 3"
	"nodes	4	4	--pf-nodes 4"
	"nodes	8	8	--pf-nodes 8"
	"evict	0	0	--pf-evict 0"
	"evict	1	1	--pf-evict 1"
	# candidate defaults found by the sweep, against the current ones
	"combo	-	default	"
	"combo	-	w2+d8	--pf-width 2 --pf-depth 8"
	"combo	-	w2+d8+m12	--pf-width 2 --pf-depth 8 --pf-max 12"
	"combo	-	w1+d8	--pf-depth 8"
)
DEFAULTS="succ=2 depth=4 width=1 max=8 nodes=4 evict=1"

mkdir -p "$OUTDIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
csv=$OUTDIR/sweep.csv
first=1
for line in "${CONFIGS[@]}"; do
	IFS=$'\t' read -r knob value label args <<<"$line"
	pol="-p $POLICIES"
	case $args in -p*) pol= ;; esac
	# shellcheck disable=SC2086 # word splitting of options is wanted
	"$BIN" -Q -q "$QUOTAS" $pol $DEF $args -c "$tmp/run.csv" "$@" >/dev/null
	if [ $first = 1 ]; then
		head -n1 "$tmp/run.csv" |
			sed 's/^/knob,value,label,args,/; s/$/,pf_wasted/' >"$csv"
		first=0
	fi
	awk -F, -v OFS=, -v k="$knob" -v v="$value" -v l="$label" \
		-v a="$DEF $args" 'NR > 1 {
			gsub(/,/, ";", a)	# "-p lru,lirs"
			print k, v, l, a, $0, $15 - $16
		}' "$tmp/run.csv" >>"$csv"
done

# Grid over the knobs that interact (width = succ, depth, max_pages), to
# check the combinations: GRID=0 skips it.
grid=$OUTDIR/grid.csv
if [ "${GRID:-1}" != 0 ]; then
	first=1
	for w in 1 2 3; do
		for d in 2 4 6 8; do
			for m in 4 8 12 16 32; do
				# shellcheck disable=SC2086
				"$BIN" -Q -q "$QUOTAS" -p "$POLICIES" $DEF \
					--pf-succ $w --pf-width $w --pf-depth $d \
					--pf-max $m -c "$tmp/run.csv" "$@" >/dev/null
				if [ $first = 1 ]; then
					head -n1 "$tmp/run.csv" |
						sed 's/^/width,depth,max,/' >"$grid"
					first=0
				fi
				awk -F, -v OFS=, -v p="$w,$d,$m" \
					'NR > 1 { print p, $0 }' \
					"$tmp/run.csv" >>"$grid"
			done
		done
	done
fi

# Columns of sweep.csv: 1 knob, 2 value, 3 label, 5 trace, 6 policy,
# 7 quota_frac, 9 maps, 19 pf_issued, 20 pf_useful, 23 pin_hit_pct,
# 27 pf_wasted.
{
awk -F, -v defaults="$DEFAULTS" -v quotas="$QUOTAS" \
	-v csv="$OUTDIR/summary.csv" '
NR == 1 { next }
{
	key = $1 SUBSEP $3 SUBSEP $6
	if (!(key in seen)) {
		seen[key] = 1
		order[++n] = key
	}
	q = $7 + 0
	if (!((key, q) in nq))
		nq[key, q] = 0
	sum[key, q] += $23
	nq[key, q]++
	iss[key] += $19
	use[key] += $20
	waste[key] += $27
	maps[key] += $9
}
END {
	nquot = split(quotas, qs, ",")
	hdr = "knob,value,policy"
	for (i = 1; i <= nquot; i++)
		hdr = hdr sprintf(",pin_hit_pct_q%g", qs[i] * 100)
	hdr = hdr ",pin_hit_pct_mean,pf_issued,pf_useful,pf_wasted,pf_useful_pct,maps"
	print hdr > csv
	printf "Prefetch knob sweep: each knob varied alone, the others at "
	printf "their defaults (%s).\n", defaults
	printf "pin hit %% = mean over the traces of the pin-cache hit rate; "
	printf "issued/useful/wasted = prefetched pages summed over traces and "
	printf "quotas (wasted: never mapped before eviction or the end).\n"
	last = ""
	for (j = 1; j <= n; j++) {
		split(order[j], f, SUBSEP)
		if (f[1] != last) {
			printf "\n%-6s %-11s %-8s", f[1], "value", "policy"
			for (i = 1; i <= nquot; i++)
				printf " %6s", sprintf("%g%%", qs[i] * 100)
			printf " %6s %8s %8s %8s %7s\n", "mean", "issued",
				"useful", "wasted", "useful%"
			last = f[1]
		}
		mark = index(" " defaults " ", " " f[1] "=" f[2] " ") ? "*" : ""
		printf "%-6s %-11s %-8s", "", f[2] mark, f[3]
		line = f[1] "," f[2] "," f[3]
		tot = 0
		for (i = 1; i <= nquot; i++) {
			m = sum[order[j], qs[i] + 0] / nq[order[j], qs[i] + 0]
			tot += m
			printf " %6.2f", m
			line = line sprintf(",%.3f", m)
		}
		u = iss[order[j]] ? 100 * use[order[j]] / iss[order[j]] : 0
		printf " %6.2f %8d %8d %8d %7.1f\n", tot / nquot, iss[order[j]],
			use[order[j]], waste[order[j]], u
		line = line sprintf(",%.3f,%d,%d,%d,%.2f,%d", tot / nquot,
			iss[order[j]], use[order[j]], waste[order[j]], u,
			maps[order[j]])
		print line > csv
	}
	printf "\n* default.  Traces:"
}' "$csv"
for t in "$@"; do printf ' %s' "$(basename "${t%%.*}")"; done
printf '\n'

# Per trace, for the baseline and the "combo" rows: pin-hit % at each quota.
awk -F, -v quotas="$QUOTAS" '
NR == 1 || ($1 != "none" && $1 != "combo") { next }
{
	cfg = $3 " " $6
	if (!(cfg in seen)) {
		seen[cfg] = 1
		cfgs[++n] = cfg
	}
	if (!($5 in tseen)) {
		tseen[$5] = 1
		traces[++nt] = $5
	}
	v[$5, cfg, $7 + 0] = $23
}
END {
	nquot = split(quotas, qs, ",")
	printf "\nPer trace: pin-hit %% at"
	for (i = 1; i <= nquot; i++)
		printf "%s %g%%", (i > 1 ? " /" : ""), qs[i] * 100
	printf " of the distinct pages.\n\n%-20s", "config policy"
	for (t = 1; t <= nt; t++)
		printf " %-17.17s", traces[t]
	printf "\n"
	for (c = 1; c <= n; c++) {
		printf "%-20s", cfgs[c]
		for (t = 1; t <= nt; t++) {
			cell = ""
			for (i = 1; i <= nquot; i++)
				cell = cell (i > 1 ? "/" : "") \
					sprintf("%.1f", v[traces[t], cfgs[c], qs[i] + 0])
			printf " %-17s", cell
		}
		printf "\n"
	}
}' "$csv"

# What width needs: for each guest map of a page b right after a page a
# (a != b, pages split as the simulator does), was b the most recent
# successor of a ("latest"), the one before it ("previous"), another page
# ("other"), or did a have no successor yet ("first")?
printf '\nSuccessors: %% of page-to-next-page steps where the next page is\n'
printf '%-18s %8s %8s %8s %8s %8s\n' trace steps latest previous other first
for t in "$@"; do
	case $t in
	*.xz) cat="xzcat" ;; *.gz) cat="zcat" ;; *.zst) cat="zstdcat" ;;
	*) cat="cat" ;;
	esac
	[ -f "$t" ] || continue
	$cat "$t" | awk -v name="$(basename "${t%%.*}")" '
	function hex(s,    i, v) {
		v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef",
					   tolower(substr(s, i, 1))) - 1
		return v
	}
	# page number (>> 12) and offset of a hex address, exact in a double
	function pfn(s) { return length(s) > 3 ? hex(substr(s, 1, length(s) - 3)) : 0 }
	function off(s) { return hex(length(s) > 3 ? substr(s, length(s) - 2) : s) }
	$1 == "m" {
		size = hex($3)
		if (!size)
			next
		n = int((off($2) + size - 1) / 4096) + 1
		p = pfn($4)
		for (i = 0; i < n; i++) {
			b = p + i
			if (have && a != b) {
				steps++
				if (!(a in s1))
					fresh++
				else if (s1[a] == b)
					m1++
				else if ((a in s2) && s2[a] == b)
					m2++
				else
					other++
				if ((a in s1) && s1[a] != b)
					s2[a] = s1[a]
				s1[a] = b
			}
			a = b
			have = 1
		}
	}
	END {
		if (!steps)
			printf "%-18s %8d %8s %8s %8s %8s\n", name, 0, "-",
				"-", "-", "-"
		else
			printf "%-18s %8d %7.1f%% %7.1f%% %7.1f%% %7.1f%%\n", name,
				steps, 100 * m1 / steps, 100 * m2 / steps,
				100 * other / steps, 100 * fresh / steps
	}'
done

# Grid: mean pin-hit % over traces and quotas per policy, best first by
# their mean (awk prints that as a sort key, cut drops it).
if [ -f "$grid" ] && [ "${GRID:-1}" != 0 ]; then
	printf '\nGrid: mean pin-hit %% over traces and quotas (width = succ, '
	printf '4 nodes per quota page), best first;\n'
	printf 'issued: prefetches of all the policies over every run\n\n'
	printf '%-32s' config
	# shellcheck disable=SC2086 # one column per policy
	printf ' %8s' ${POLICIES//,/ } issued
	printf '\n'
	awk -F, '
	NR == 1 { next }
	{
		cfg = sprintf("width=succ %d, depth %d, max %2d", $1, $2, $3)
		if (!(cfg in seen)) {
			seen[cfg] = 1
			cfgs[++n] = cfg
		}
		if (!($5 in pseen)) {
			pseen[$5] = 1
			pols[++np] = $5
		}
		sum[cfg, $5] += $22
		cnt[cfg, $5]++
		iss[cfg] += $18
	}
	END {
		for (c = 1; c <= n; c++) {
			t = 0
			line = sprintf("%-32s", cfgs[c])
			for (p = 1; p <= np; p++) {
				m = sum[cfgs[c], pols[p]] / cnt[cfgs[c], pols[p]]
				t += m
				line = line sprintf(" %8.2f", m)
			}
			printf "%09.4f %s %8d\n", t / np, line, iss[cfgs[c]]
		}
	}' "$grid" | sort -r | cut -d' ' -f2-
fi
} >"$OUTDIR/sweep.txt"
cat "$OUTDIR/sweep.txt"
