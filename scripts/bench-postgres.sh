#!/usr/bin/env bash
# Cairn on PostgreSQL beside the embedded engine, one command:
#
#   scripts/bench-postgres.sh                 # 2 M events per run
#   EVENTS=5000000 scripts/bench-postgres.sh
#   PROFILE=/tmp/pg.pprof scripts/bench-postgres.sh   # the one-node server's CPU profile during ingest (PostgreSQL's CPU then not counted)
#   CONFIGS="2" CAIRN_BIN=/tmp/cairn-old scripts/bench-postgres.sh   # only configuration 2, with a given binary
#
# Builds cairn, initialises a PostgreSQL 15 cluster in a temporary directory
# (Debian's postgresql-15; as the postgres user when run as root, default
# settings, fsync on) on a free loopback port, and runs `cairn bench` with the
# same generator (8 writers, 1000-event batches, 64 streams in 4 groups) in
# three configurations, each on a fresh database or data directory:
#   1. the embedded engine (cairn bench --spawn),
#   2. one node on PostgreSQL (a `cairn server --store postgres://...`),
#   3. three nodes on one PostgreSQL database, the writers spread over them
#      (--endpoint A --endpoint B --endpoint C).
# For each it prints the bench's report, PostgreSQL's CPU (utime+stime of
# every postgres process) during the run and the bytes the database holds per
# event (pg_total_relation_size of Cairn's tables). (Backends that ended during
# the run are not counted: the bench's connections stay open until it ends.)
# Everything it starts is
# stopped by its PID at the end.
set -euo pipefail

EVENTS=${EVENTS:-2000000}
PGBIN=/usr/lib/postgresql/15/bin
cd "$(dirname "$0")/.."

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -f "$work/pg/PG_VERSION" ]]; then as_pg "$PGBIN/pg_ctl" stop -w -m fast -D "$work/pg" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

as_pg() {
	if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ -n "${CAIRN_BIN:-}" ]]; then cp "$CAIRN_BIN" "$work/cairn"; else go build -o "$work/cairn" ./cmd/cairn; fi
CONFIGS=${CONFIGS:-1 2 3}
want() { [[ " $CONFIGS " == *" $1 "* ]]; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/pg" "$work/sock"
if [[ $(id -u) == 0 ]]; then chown postgres "$work/pg" "$work/sock"; fi
as_pg "$PGBIN/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C >/dev/null
as_pg "$PGBIN/pg_ctl" start -w -D "$work/pg" -l "$work/sock/log" \
	-o "-p $port -k $work/sock -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
psql() { command psql -X -q -t -A -h 127.0.0.1 -p "$port" -U postgres "$@"; }
pgcpu() { # centiseconds of CPU of this cluster's processes (the postmaster and its children, alive now)
	local total=0 pm
	pm=$(head -1 "$work/pg/postmaster.pid")
	for p in "$pm" $(pgrep -P "$pm" || true); do
		if [[ -r /proc/$p/stat ]]; then
			read -r -a f < <(sed 's/^.*) //' "/proc/$p/stat")
			total=$((total + f[11] + f[12]))
		fi
	done
	echo "$total"
}
dbbytes() {
	psql -d "$1" -c "SELECT coalesce(sum(pg_total_relation_size(c.oid)),0) FROM pg_class c JOIN pg_namespace n ON n.oid=c.relnamespace WHERE n.nspname='public' AND c.relkind IN ('r','p') AND c.relname LIKE 'cairn\_%'"
}

report_pg() {
	awk -v c="$(( $2 - $1 ))" -v b="$3" -v n="$EVENTS" 'BEGIN { printf "PostgreSQL CPU during the run (ingest and reads): %.1f s; database: %d bytes = %.1f bytes/event\n", c/100, b, b/n }'
}

echo "cairn $(git describe --always --dirty 2>/dev/null || echo '?'), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), $(nproc) cores, $(go version | awk '{print $3}'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
common=(--events "$EVENTS" --query)

if want 1; then
echo "== 1. embedded engine; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/cairn" bench --spawn "${common[@]}" 2>&1
fi

# start_node N URL [args...]: a `cairn server` on the database URL; sets $ep.
start_node() {
	local i=$1 url=$2
	shift 2
	"$work/cairn" server --listen 127.0.0.1:0 --data "$work/node$i" --store "$url" --auth off "$@" >"$work/node$i.log" 2>&1 &
	pids+=($!)
	ep=""
	for _ in $(seq 600); do
		ep=$(grep -o 'endpoint=[^ ]*' "$work/node$i.log" 2>/dev/null | head -1 || true)
		if [[ -n "$ep" ]]; then break; fi
		sleep 0.1
	done
	ep=${ep#endpoint=}
	if [[ -z "$ep" ]]; then echo "node $i did not start:" >&2; cat "$work/node$i.log" >&2; exit 1; fi
}
bench_key=(--access-key AKIDBENCH --secret-key benchsecret)

if want 2; then
echo "== 2. one node on PostgreSQL; load average $(cut -d' ' -f1-3 /proc/loadavg)"
psql -d postgres -c "CREATE DATABASE one" >/dev/null
url="postgres://postgres@127.0.0.1:$port/one?sslmode=disable"
if [[ -n "${PROFILE:-}" ]]; then
	# A profiling run: the bench spawns the node and profiles it over the
	# ingest exactly. Its backends end with it, so PostgreSQL's CPU is not
	# counted here.
	"$work/cairn" bench --spawn --server-arg=--store="$url" --cpuprofile "$PROFILE" "${common[@]}" 2>&1
	c0=0 c1=0
else
	start_node 0 "$url"
	c0=$(pgcpu)
	"$work/cairn" bench --endpoint "$ep" --server-pid "${pids[0]}" "${bench_key[@]}" "${common[@]}" 2>&1
	c1=$(pgcpu)
fi
report_pg "$c0" "$c1" "$(dbbytes one)"
fi

if want 3; then
echo "== 3. three nodes on PostgreSQL, writers spread over them; load average $(cut -d' ' -f1-3 /proc/loadavg)"
psql -d postgres -c "CREATE DATABASE three" >/dev/null
eps=()
first=${#pids[@]}
for i in 1 2 3; do
	start_node "$i" "postgres://postgres@127.0.0.1:$port/three?sslmode=disable"
	eps+=(--endpoint "$ep")
done
declare -A cpu0
for i in 1 2 3; do cpu0[$i]=$(awk '{print $14+$15}' "/proc/${pids[$((first+i-1))]}/stat"); done
c0=$(pgcpu)
"$work/cairn" bench "${eps[@]}" "${bench_key[@]}" "${common[@]}" 2>&1
c1=$(pgcpu)
report_pg "$c0" "$c1" "$(dbbytes three)"
for i in 1 2 3; do
	awk -v c0="${cpu0[$i]}" -v i="$i" '{printf "node %d CPU during the run: %.1f s\n", i, ($14+$15-c0)/100}' "/proc/${pids[$((first+i-1))]}/stat"
done
fi
