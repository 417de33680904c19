#!/usr/bin/env bash
# Runs every Cairn test. Installs what the tests need (the AWS CLI v2 and
# boto3, from Debian) when it is missing, and fails rather than skips when it
# cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/aws ] || need+=(awscli)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
command -v npm >/dev/null || need+=(npm)
/usr/bin/python3 -c 'import boto3' 2>/dev/null || need+=(python3-boto3)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)  # internal/store/postgres: a real PostgreSQL (internal/pgtest)
[ -x /usr/sbin/rsyslogd ] || need+=(rsyslog)          # e2e: syslog forwarding into Cairn
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)  # e2e: the OpenTelemetry JS SDK
command -v zsh >/dev/null || need+=(zsh)              # e2e: shell completions
command -v fish >/dev/null || need+=(fish)
command -v systemd-analyze >/dev/null || need+=(systemd)  # e2e: the systemd unit's verify and exposure score
command -v docker >/dev/null && command -v dockerd >/dev/null || need+=(docker.io)  # e2e: the container image
[ -x /usr/bin/chromium ] || need+=(chromium)          # e2e: the console in a real browser (playwright-core)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (Debian packages) ..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
/usr/bin/aws --version
/usr/bin/python3 -c 'import boto3; print("boto3", boto3.__version__)'
# The OpenTelemetry JavaScript SDK's OTLP log exporters (e2e/otlp_test.go
# runs them with node), installed once under a cache directory.
otel_js="${CAIRN_OTEL_JS:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn-e2e/otel-js}"
if [ ! -d "$otel_js/node_modules/@opentelemetry/exporter-logs-otlp-proto" ]; then
  echo "installing the OpenTelemetry JS SDK (npm) in $otel_js ..."
  mkdir -p "$otel_js"
  [ -f "$otel_js/package.json" ] || echo '{"name":"cairn-otel-e2e","private":true}' > "$otel_js/package.json"
  (cd "$otel_js" && npm install --no-audit --no-fund --silent @opentelemetry/sdk-logs @opentelemetry/exporter-logs-otlp-proto \
    @opentelemetry/exporter-logs-otlp-http @opentelemetry/api-logs @opentelemetry/resources)
fi
export CAIRN_OTEL_JS="$otel_js"
# playwright-core (no bundled browser: it drives Debian's /usr/bin/chromium)
# for the console's browser tests (e2e/console_test.go).
playwright="${CAIRN_PLAYWRIGHT:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn-e2e/playwright}"
if [ ! -d "$playwright/node_modules/playwright-core" ]; then
  echo "installing playwright-core (npm) in $playwright ..."
  mkdir -p "$playwright"
  [ -f "$playwright/package.json" ] || echo '{"name":"cairn-console-e2e","private":true}' > "$playwright/package.json"
  (cd "$playwright" && npm install --no-audit --no-fund --silent playwright-core)
fi
export CAIRN_PLAYWRIGHT="$playwright"
command -v go >/dev/null || { echo "Go is required (https://go.dev/dl/)" >&2; exit 1; }

# The subscription pipeline's real parts (internal/delivery tests): kinesalite
# (Kinesis) from npm, VictoriaLogs (the _bulk receiver) from the Go module
# proxy, nats-server from Debian (above).
tools=${CAIRN_TEST_TOOLS:-$HOME/.cache/cairn-test}
if [ ! -x "$tools/npm/node_modules/.bin/kinesalite" ]; then
  echo "installing kinesalite (npm) into $tools/npm ..."
  mkdir -p "$tools/npm"
  (cd "$tools/npm" && npm install --silent --no-audit --no-fund kinesalite)
fi
vl_version=v1.52.2
vl="$HOME/.cache/cairn-bench/bin/victoria-logs-$vl_version"
if [ ! -x "$vl" ]; then
  echo "installing VictoriaLogs $vl_version ..."
  mkdir -p "$(dirname "$vl")"
  vlwork=$(mktemp -d)
  CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$vlwork" go install "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$vl_version"
  mv "$vlwork/victoria-logs" "$vl"
  rm -rf "$vlwork"
fi
export PATH="$PATH:/usr/sbin"

# A Docker engine for e2e/packaging_test.go: the running one when it
# answers, else one of our own on a private socket and data root, without
# networking of its own (the test runs the container on the host network),
# stopped when the tests end.
if ! docker info >/dev/null 2>&1; then
  dockerdir=$(mktemp -d /tmp/cairn-dockerd.XXXXXX)
  echo "starting a Docker engine in $dockerdir ..."
  dockerd --data-root "$dockerdir/root" --exec-root "$dockerdir/exec" --pidfile "$dockerdir/dockerd.pid" \
    --host "unix://$dockerdir/docker.sock" --bridge=none --iptables=false --ip6tables=false >"$dockerdir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  stop_dockerd() {
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    # dockerd leaves its network namespace bind-mounted under exec/.
    for m in $(awk -v d="$dockerdir" 'index($2, d) == 1 {print $2}' /proc/mounts); do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$dockerdir" 2>/dev/null || true
  }
  trap stop_dockerd EXIT
  export DOCKER_HOST="unix://$dockerdir/docker.sock"
  for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "the Docker engine did not start:" >&2; tail -20 "$dockerdir/dockerd.log" >&2; exit 1; }
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 -timeout 25m ./...
