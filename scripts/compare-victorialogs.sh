#!/usr/bin/env bash
# Cairn and VictoriaLogs side by side, one command:
#
#   scripts/compare-victorialogs.sh                      # 2 M events a round, 3 rounds
#   EVENTS=5000000 scripts/compare-victorialogs.sh       # the issue's configuration
#   scripts/compare-victorialogs.sh --rounds 5 --writers 16   # any other `cairn bench` flag
#
# Installs VictoriaLogs from the Go module proxy when it is not installed yet
# (into ${CAIRN_BENCH_BIN:-$HOME/.cache/cairn-bench/bin}), builds cairn, and
# runs `cairn bench --compare victorialogs`, which spawns each system on a
# fresh temporary data directory on 127.0.0.1 every round, sends both the same
# lines, stops each by its PID and prints the ratios as Markdown on stdout
# (every run's own report goes to stderr).
set -euo pipefail

VL_VERSION=${VL_VERSION:-v1.52.2}
BIN=${CAIRN_BENCH_BIN:-$HOME/.cache/cairn-bench/bin}
EVENTS=${EVENTS:-2000000}
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

VL="$BIN/victoria-logs-$VL_VERSION"
if [[ ! -x "$VL" ]]; then
	echo "installing VictoriaLogs $VL_VERSION into $BIN ..." >&2
	mkdir -p "$BIN"
	CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$work" \
		go install "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$VL_VERSION"
	mv "$work/victoria-logs" "$VL"
fi

go build -o "$work/cairn" ./cmd/cairn
echo "VictoriaLogs $VL_VERSION, cairn $(git describe --always --dirty 2>/dev/null || echo '?'), $(nproc) cores, $(go version), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# Not exec: the trap removes the build afterwards. The bench stops what it spawned.
"$work/cairn" bench --compare victorialogs --victorialogs-bin "$VL" --events "$EVENTS" "$@"
