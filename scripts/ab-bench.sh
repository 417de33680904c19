#!/usr/bin/env bash
# Two cairn builds side by side, one command: `cairn bench --spawn` with the
# same arguments, alternating which build goes first, ROUNDS rounds (default
# 3), the load average at the start of each run. Ratios taken in one run
# hold on a loaded machine; absolute figures do not.
#
#   scripts/ab-bench.sh /tmp/cairn-base ./cairn --events 2000000
#   scripts/ab-bench.sh /tmp/cairn-base ./cairn --events 2000000 --server-arg=--compression=s2
#   scripts/ab-bench.sh /tmp/cairn-base ./cairn --events 2000000 --insights
#
# Each run's own report goes to stdout under a '== round R: NAME' line; the
# bench stops the server it spawned.
set -euo pipefail
if (($# < 2)); then
	echo "usage: $0 BASE-BINARY NEW-BINARY [cairn bench flags...]" >&2
	exit 2
fi
base=$1 new=$2
shift 2
rounds=${ROUNDS:-3}
for ((r = 1; r <= rounds; r++)); do
	order=("$base" "$new")
	((r % 2 == 0)) && order=("$new" "$base")
	for bin in "${order[@]}"; do
		name=new
		[[ $bin == "$base" ]] && name=base
		echo "== round $r: $name ($bin), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%T) UTC"
		"$bin" bench --spawn "$@" 2>&1
	done
done
