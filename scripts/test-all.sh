#!/usr/bin/env bash
# npm run test:all: starts the real servers on loopback, runs every node:test suite against them, stops
# the servers again (also when tests fail or the run is interrupted) and exits with the tests' status.
#
#   npm run test:all                               every suite
#   npm run test:all -- test/contract/*.test.ts    only these files, with the servers up
#
# A server that was already running before (a developer's, started with scripts/infra/NAME.sh start)
# is used and left running.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
# Node 24 from the devDependency, whatever the system's node is
export PATH="$root/node_modules/.bin:$PATH"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' || {
  echo "test-all: Node 24 not found in node_modules/.bin (run npm ci)" >&2
  exit 1
}

started=()
stop_servers() {
  local name out
  for name in "${started[@]}"; do
    out="$(bash "scripts/infra/$name.sh" stop 2>&1)" || echo "test-all: stopping $name failed: $out" >&2
  done
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server NAME VAR: scripts/infra/NAME.sh start, and its URL exported as VAR for the suites.
start_server() {
  local name=$1 var=$2 url
  bash "scripts/infra/$name.sh" status >/dev/null 2>&1 || started+=("$name")
  url="$(bash "scripts/infra/$name.sh" start)" || {
    echo "test-all: $name did not start" >&2
    exit 1
  }
  export "$var=$url"
  echo "test-all: $name at $url" >&2
}

start_server postgres OMNINODE_TEST_DATABASE_URL
start_server kafka OMNINODE_TEST_KAFKA_BROKERS

if (($# == 0)); then set -- "test/**/*.test.ts"; fi
node --test --test-concurrency=2 "$@"
