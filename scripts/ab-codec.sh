#!/usr/bin/env bash
# One build, appended blocks in zstd-fastest (the default without
# re-compaction) against S2 (--compression s2),
# re-compaction off in both so that only the codec differs; alternating, the
# load average at each start. scripts/ab-codec.sh BINARY [cairn bench flags]
set -euo pipefail
bin=$1; shift
for ((r = 1; r <= ${ROUNDS:-3}; r++)); do
	order=(fastest s2); ((r % 2 == 0)) && order=(s2 fastest)
	for c in "${order[@]}"; do
		echo "== round $r: $c, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%T) UTC"
		"$bin" bench --spawn --server-arg=--compression=$c "$@" 2>&1
	done
done
