#!/usr/bin/env bash
# The ingest cost of a data protection policy with every managed identifier
# and of a five-processor transformer, through the real server, one command:
#
#   scripts/ingest-cost.sh                    # 1 M events a setup and round, 3 rounds
#   EVENTS=2000000 ROUNDS=5 scripts/ingest-cost.sh
#   CAIRN_BIN=/path/to/cairn scripts/ingest-cost.sh   # measure that binary instead of building this tree
#   PROFILE=/tmp/prof ROUNDS=1 scripts/ingest-cost.sh # also a server CPU profile of each setup's ingest
#                                                     # (PROFILE_SECONDS, default 10, from the first request): DIR/SETUP-ROUND.prof
#
# Each round starts a fresh `cairn server` (SigV4, its generated root key, a
# temporary data directory) for each of three setups, in an order rotated
# every round: no policy; a DATA_PROTECTION_POLICY account policy of every
# managed identifier Cairn detects; a TRANSFORMER_POLICY account policy of
# the five processors of internal/transform's BenchmarkFiveProcessors. The
# account policies (put with boto3; Debian's AWS CLI 2.9 predates
# PutAccountPolicy) apply to every group `cairn bench`
# then creates and fills with its standard lines (bench.LineGen, seed 42;
# 8 writers, 1000-event batches, 64 streams in 4 groups). The figure is the
# server's CPU time (user+system, /proc) per event during ingest, and the
# cost of a setup is 1 − CPU(none)/CPU(setup) in the same round: the share
# of its ingest throughput a CPU-bound server loses. Markdown on stdout,
# each run's report on stderr. The goal is < 25% for both.
set -euo pipefail

EVENTS=${EVENTS:-1000000}
ROUNDS=${ROUNDS:-3}
PYTHON=${PYTHON:-python3} # with boto3 >= 1.34
cd "$(dirname "$0")/.."

work=$(mktemp -d)
pid=
cleanup() {
	if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

if [[ -n "${CAIRN_BIN:-}" ]]; then
	cp "$CAIRN_BIN" "$work/cairn" # another build, e.g. an earlier commit's, to compare
else
	go build -o "$work/cairn" ./cmd/cairn
fi

m=arn:aws:dataprotection::aws:data-identifier/
ids=""
for id in AwsSecretKey AwsAccessKeyId EmailAddress CreditCardNumber IpAddress Ssn-US JsonWebToken \
	OpenSshPrivateKey PgpPrivateKey PkcsPrivateKey PuttyPrivateKey; do
	ids="$ids${ids:+,}\"$m$id\""
done
dp_doc='{"Name":"all-managed","Version":"2021-06-01","Statement":[{"Sid":"audit","DataIdentifier":['$ids'],"Operation":{"Audit":{"FindingsDestination":{}}}},{"Sid":"redact","DataIdentifier":['$ids'],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}'
tr_doc='{"transformerConfig":[{"grok":{"match":"%{NOTSPACE:first} %{NOTSPACE:second} %{GREEDYDATA:rest}"}},{"addKeys":{"entries":[{"key":"env","value":"prod"}]}},{"lowerCaseString":{"withKeys":["second"]}},{"renameKeys":{"entries":[{"key":"first","renameTo":"head"}]}},{"copyValue":{"entries":[{"source":"@logGroupName","target":"group"}]}}]}'

# run SETUP ROUND: one server, one policy, one bench; prints "µs/event events/s".
run() {
	local setup=$1 dir=$work/$1-$2 url="" key secret
	mkdir -p "$dir"
	local prof=()
	[[ -n "${PROFILE:-}" ]] && prof=(--pprof --pprof-listen 127.0.0.1:0)
	"$work/cairn" server --listen 127.0.0.1:0 --data "$dir/data" "${prof[@]}" >"$dir/server.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do
		url=$(grep -o 'endpoint=[^ ]*' "$dir/server.log" | head -1 | cut -d= -f2) || true
		[[ -n "$url" ]] && break
		kill -0 "$pid" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
		sleep 0.1
	done
	[[ -n "$url" ]] || { echo "server did not start" >&2; cat "$dir/server.log" >&2; exit 1; }
	key=$(awk -F' *= *' '$1=="aws_access_key_id"{print $2; exit}' "$dir/data/credentials")
	secret=$(awk -F' *= *' '$1=="aws_secret_access_key"{print $2; exit}' "$dir/data/credentials")
	case $setup in
	all-identifiers) policy_type=DATA_PROTECTION_POLICY doc=$dp_doc ;;
	five-processors) policy_type=TRANSFORMER_POLICY doc=$tr_doc ;;
	*) policy_type= ;;
	esac
	if [[ -n "$policy_type" ]]; then
		AWS_SHARED_CREDENTIALS_FILE=$dir/data/credentials AWS_CONFIG_FILE=/dev/null "$PYTHON" -c '
import sys, boto3
boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1").put_account_policy(
    policyName="bench", policyType=sys.argv[2], policyDocument=sys.argv[3], scope="ALL")' "$url" "$policy_type" "$doc"
	fi
	"$work/cairn" bench --endpoint "$url" --access-key "$key" --secret-key "$secret" --server-pid "$pid" \
		--data-dir "$dir/data" --events "$EVENTS" >"$dir/bench.txt" 2>&1 &
	local benchpid=$!
	if [[ -n "${PROFILE:-}" ]]; then
		# From the first request on (preparing the bodies takes a while on a
		# loaded machine, and the server is idle meanwhile).
		mkdir -p "$PROFILE"
		local purl
		purl=$(grep -o 'pprof=[^ ]*' "$dir/server.log" | head -1 | cut -d= -f2)
		while kill -0 "$benchpid" 2>/dev/null && ! grep -q '^ingesting' "$dir/bench.txt"; do sleep 0.05; done
		curl -sf -o "$PROFILE/$setup-$2.prof" "${purl}profile?seconds=${PROFILE_SECONDS:-10}" || echo "profile of $setup failed" >&2
	fi
	wait "$benchpid" || { cat "$dir/bench.txt" >&2; exit 1; }
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	cat "$dir/bench.txt" >&2
	local cpu rate
	cpu=$(sed -n 's/^CPU during ingest: server [0-9.]* s (\([0-9.]*\) µs\/event.*/\1/p' "$dir/bench.txt")
	rate=$(sed -n 's/^ingest: .* = \([0-9]*\) events\/s.*/\1/p' "$dir/bench.txt")
	echo "$cpu $rate"
}

setups=(none all-identifiers five-processors)
declare -A cpu rate
echo "cairn ${CAIRN_BIN:-$(git describe --always --dirty 2>/dev/null || echo '?')}, $(nproc) cores, $(go version), $EVENTS events a setup and round, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
loads=()
for ((r = 1; r <= ROUNDS; r++)); do
	k=$(((r - 1) % 3))
	order=("${setups[@]:k}" "${setups[@]:0:k}")
	loads+=("$(cut -d' ' -f1-3 /proc/loadavg)")
	echo "== round $r: ${order[*]}; load average ${loads[-1]}" >&2
	for s in "${order[@]}"; do
		read -r c e < <(run "$s" "$r")
		cpu[$s,$r]=$c
		rate[$s,$r]=$e
	done
done

echo "$EVENTS events a setup and round through \`cairn bench\` (8 writers, 1000-event batches, 64 streams in 4 groups, seed 42); $ROUNDS rounds, the order rotated; load average at each round's start: ${loads[*]}; at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| setup | server CPU µs/event, by round | events/s (wall), by round | cost vs none in the same round (1 − CPU ratio) | median cost |"
echo "|---|---|---|---|---|"
for s in "${setups[@]}"; do
	cs="" es="" costs="" list=()
	for ((r = 1; r <= ROUNDS; r++)); do
		x=$(awk -v a="${cpu[none,$r]}" -v b="${cpu[$s,$r]}" 'BEGIN{printf "%.0f", 100*(1-a/b)}')
		cs="$cs${cs:+ · }${cpu[$s,$r]}"
		es="$es${es:+ · }${rate[$s,$r]}"
		costs="$costs${costs:+ · }$x%"
		list+=("$x")
	done
	med=$(printf '%s\n' "${list[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
	echo "| $s | $cs | $es | $costs | $med% |"
done
