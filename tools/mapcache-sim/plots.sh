#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# plots.sh OUT FIGS: draw the simulator's results (OUT/results.csv and
# OUT/locality/*.csv, from "make sim") as PNG charts in FIGS:
#   hitrate-TRACE.png   pin-cache hit rate per quota, every policy and OPT
#   locality-TRACE.png  reuse-distance CDF of pages and of (IOVA, page)
#                       pairs, and the live/recent working set over time
set -euo pipefail
OUT=$1
FIGS=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$FIGS"

for trace in $(awk -F, 'NR > 1 { print $1 }' "$OUT/results.csv" | uniq); do
	plot=""
	for pol in $(awk -F, -v t="$trace" 'NR > 1 && $1 == t { print $2 }' \
			"$OUT/results.csv" | awk '!seen[$0]++'); do
		awk -F, -v t="$trace" -v p="$pol" \
			'NR > 1 && $1 == t && $2 == p { print $3 * 100, $19 }' \
			"$OUT/results.csv" > "$tmp/$trace.$pol.dat"
		style="linespoints"
		[ "$pol" = opt ] && style="linespoints lw 3 dt 2 lc rgb 'black'"
		plot="$plot${plot:+, }'$tmp/$trace.$pol.dat' using 1:2 with $style title '$pol'"
	done
	gnuplot <<-GP
		set terminal pngcairo size 800,500 font ",10"
		set output "$FIGS/hitrate-$trace.png"
		set title "$trace: pin-cache hit rate"
		set xlabel "quota (% of the trace's distinct pages)"
		set ylabel "pin hits (% of maps)"
		set xrange [0:100]
		set yrange [0:100]
		set grid
		set key bottom right
		plot $plot
	GP

	rd=$OUT/locality/$trace.reuse.csv
	ws=$OUT/locality/$trace.wset.csv
	[ -f "$rd" ] && [ -f "$ws" ] || continue
	awk -F, '$1 == "page" && $2 != "cold" { print $3 + 1, $5 * 100 }' "$rd" > "$tmp/rd.page"
	awk -F, '$1 == "pair" && $2 != "cold" { print $3 + 1, $5 * 100 }' "$rd" > "$tmp/rd.pair"
	gnuplot <<-GP
		set terminal pngcairo size 1000,400 font ",10"
		set output "$FIGS/locality-$trace.png"
		set multiplot layout 1,2 title "$trace: locality"
		set title "reuse distance (CDF over all maps)"
		set logscale x 2
		set xlabel "distinct keys since the last map of the same key"
		set ylabel "% of maps"
		set yrange [0:100]
		set grid
		set key bottom right
		plot "$tmp/rd.page" using 1:2 with steps lw 2 title "page", \
		     "$tmp/rd.pair" using 1:2 with steps lw 2 title "(IOVA, page)"
		unset logscale x
		set title "working set over time"
		set xlabel "maps"
		set ylabel "pages"
		set autoscale y
		set datafile separator ","
		plot "$ws" using 1:2 every ::1 with lines title "live pages", \
		     "$ws" using 1:3 every ::1 with lines title "pages in a window of 5% of the maps"
		unset multiplot
	GP
done
ls "$FIGS"
