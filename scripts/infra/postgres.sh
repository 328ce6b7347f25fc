#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, on loopback, owned by this repository.
#
#   scripts/infra/postgres.sh start    initdb (first time) + start; prints the URL on stdout. Idempotent.
#   scripts/infra/postgres.sh url      prints the URL
#   scripts/infra/postgres.sh status   exit 0 when running, 3 when not
#   scripts/infra/postgres.sh halt     stops the server (fast shutdown) but keeps the cluster: `start`
#                                      brings it back on the same port with its data (outage tests)
#   scripts/infra/postgres.sh stop     stops the server and removes everything `start` made
#
# Cluster in $OMNINODE_PG_DIR, default .infra/postgres/ (data, socket, log), trust auth, database
# omninode_test, on 127.0.0.1 port $OMNINODE_PG_PORT, else 55432 or the next free one. A second
# cluster (a test that stops its server) sets both to its own directory and port. Never uses a PostgreSQL already running on the
# machine. Debian's binaries are installed with apt-get when missing. As root, the server runs as the `postgres` user (initdb refuses
# root); otherwise as the current user. Progress goes to stderr; stdout carries only the URL.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
base="${OMNINODE_PG_DIR:-$root/.infra/postgres}"
data="$base/data"
sock="$base/socket"
log="$base/postgres.log"
port_file="$base/port"
database=omninode_test

say() { echo "postgres.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

port() {
  if [[ -s "$port_file" ]]; then cat "$port_file"; else echo "${OMNINODE_PG_PORT:-55432}"; fi
}

# OMNINODE_PG_PORT when set; else the first of 55432..55451 that nothing listens on (another checkout's
# cluster, say), so that several worktrees can run their suites at the same time.
choose_port() {
  if [[ -n "${OMNINODE_PG_PORT:-}" ]]; then
    echo "$OMNINODE_PG_PORT"
    return
  fi
  local p
  for p in $(seq 55432 55451); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port in 55432..55451: set OMNINODE_PG_PORT"
}

url() { echo "postgres://postgres@127.0.0.1:$(port)/$database"; }

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

ensure_installed() {
  [[ -n "$(bin_dir)" && -x "$(bin_dir)/initdb" ]] && return
  say "PostgreSQL binaries not found: installing Debian's postgresql"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || die "not root and no password-less sudo: install postgresql"
    sudo=(sudo -n)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
  [[ -x "$(bin_dir)/initdb" ]] || die "apt-get installed postgresql but no initdb under /usr/lib/postgresql/*/bin"
}

# Runs a server binary as the cluster's owner.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ensure_owner() {
  [[ $(id -u) -eq 0 ]] || return 0
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  runuser -u postgres -- test -x "$(dirname "$base")" ||
    die "user postgres cannot reach $(dirname "$base") (make it and its parents world-searchable)"
  chown -R postgres: "$base"
}

running() {
  local bin
  bin="$(bin_dir)"
  [[ -n "$bin" && -f "$data/PG_VERSION" ]] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
  ensure_installed
  local bin
  bin="$(bin_dir)"
  if running; then
    url
    return
  fi
  mkdir -p "$data" "$sock"
  # the port chosen at the first start sticks until stop, whatever OMNINODE_PG_PORT says later
  [[ -s "$port_file" ]] || choose_port >"$port_file"

  ensure_owner
  chmod 700 "$data"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    say "initdb in $data ($("$bin/postgres" --version))"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$base/initdb.log" 2>&1 ||
      die "initdb failed: $(tail -5 "$base/initdb.log")"
  fi
  say "starting on 127.0.0.1:$(port)"
  as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -p $(port) -k $sock -c max_connections=200" >/dev/null ||
    die "the server did not start: $(tail -5 "$log" 2>/dev/null)"
  local exists
  exists="$("$bin/psql" -h 127.0.0.1 -p "$(port)" -U postgres -d postgres -XtAc \
    "SELECT 1 FROM pg_database WHERE datname = '$database'")"
  if [[ "$exists" != 1 ]]; then
    "$bin/psql" -h 127.0.0.1 -p "$(port)" -U postgres -d postgres -Xqc "CREATE DATABASE $database" >&2
  fi
  url
}

halt() {
  if running; then
    say "halting (the cluster stays; start resumes it)"
    as_owner "$(bin_dir)/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null
  fi
}

# Removes only what start made, so that OMNINODE_PG_DIR may name a directory that holds other things.
stop() {
  [[ -d "$base" ]] || return 0
  if running; then
    say "stopping"
    as_owner "$(bin_dir)/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null
  fi
  rm -rf "$data" "$sock"
  rm -f "$log" "$port_file" "$base/initdb.log"
  rmdir "$base" 2>/dev/null || true
  rmdir "$root/.infra" 2>/dev/null || true
}

status() {
  if running; then
    say "running: $(url)"
  else
    say "not running"
    return 3
  fi
}

case "${1:-}" in
start) start ;;
halt) halt ;;
stop) stop ;;
url) url ;;
status) status ;;
*) die "usage: $0 start|halt|stop|url|status" ;;
esac
