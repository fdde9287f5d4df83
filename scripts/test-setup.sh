#!/usr/bin/env bash
# What the tests need from the machine, made so before they run: npm's `pretest` (so `npm ci &&
# npm test` works on a fresh machine) and .ci/run both run this.
# - Commands the tests run, and the Python modules that make foreign password hashes: missing
#   ones are installed from Debian's packages when root;
#   otherwise the exact `sudo apt-get install` line is printed and the run stops, before any test.
# - A system nginx that Debian's package may start is quit (the tests run their own).
# - PostgreSQL, Redis and NATS are started when installed but not answering.
# Silent and quick (tens of ms) when all is well; one line saying what it did when it did something.
# USERSVC_TEST_SETUP=skip does nothing, for developers who look after their machine themselves.
set -euo pipefail
[ "${USERSVC_TEST_SETUP:-}" = skip ] && exit 0

did=()
say() { printf 'test-setup: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# ---- commands, each with the Debian package that has it
# A name is looked up on PATH as the tests spawn it; a path is what the tests use as it is.
checks=(
  nginx-light:/usr/sbin/nginx                     # the proxy tests (this path)
  sslscan:sslscan                                 # the TLS scans
  curl:curl                                       # the curl command the CLI prints is run
  jq:jq                                           # the README's curl walk-through is run
  sqlite3:sqlite3                                 # the README's Flask and digest migrations are run
  openssl:openssl                                 # not run by tests; README and config errors say to
  strace:strace                                   # the proxy set-up writes only where it should
  "chromium:${CHROMIUM_PATH:-/usr/bin/chromium}"  # browser tests (playwright-core)
  redis-server:redis-server                       # private Redis servers (outage tests)
  postgresql-15:/usr/lib/postgresql/15/bin/pg_ctl # private clusters (restart tests)
  redis-tools:redis-cli                           # this script's checks and starts, below
  postgresql-client-common:pg_isready
  postgresql-common:pg_ctlcluster
)
# Python modules the foreign-hash tests run (test/support/python.ts), each with its Debian package,
# in Debian's /usr/bin/python3: the python3 first on PATH may be another interpreter without them.
python_modules=(werkzeug:python3-werkzeug django:python3-django passlib:python3-passlib
  bcrypt:python3-bcrypt argon2:python3-argon2)
python_absent() { # find_spec finds a module without running it: ~20 ms, where importing takes ~200
  if [ ! -x /usr/bin/python3 ]; then
    echo python3
    printf '%s\n' "${python_modules[@]#*:}"
    return
  fi
  /usr/bin/python3 -c 'import importlib.util, sys
for check in sys.argv[1:]:
    module, package = check.split(":")
    if importlib.util.find_spec(module) is None:
        print(package)' "${python_modules[@]}"
}
absent() { # the packages of the checks that fail
  local c
  for c in "${checks[@]}"; do
    if [[ ${c#*:} == /* ]]; then [ -x "${c#*:}" ]; else command -v "${c#*:}" >/dev/null; fi ||
      echo "${c%%:*}"
  done
  python_absent
}
mapfile -t missing < <(absent)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$EUID" -eq 0 ] || die "the tests need these Debian packages: ${missing[*]}. Install them:
sudo apt-get install -y ${missing[*]}"
  # A new machine's package lists may be empty or old: update only when the install fails.
  # The lock timeout waits for another apt instead of failing at once.
  apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 "$@" >>"$log" 2>&1; }
  apt_get install "${missing[@]}" || { apt_get update && apt_get install "${missing[@]}"; } ||
    { cat "$log" >&2; die "apt-get install ${missing[*]} failed (its output is above)"; }
  did+=("installed ${missing[*]}")
  mapfile -t still < <(absent)
  [ "${#still[@]}" -eq 0 ] ||
    die "apt-get installed ${missing[*]}, yet still not found (on PATH=$PATH or in /usr/bin/python3): ${still[*]}"
fi

# ---- a system nginx (port 80) from Debian's package: quit it. The tests' own nginx keep their
# pid files in their run directories, never in /run/nginx.pid, so they are not touched.
if [ "$EUID" -eq 0 ] && [ -s /run/nginx.pid ]; then
  pid=$(</run/nginx.pid)
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nginx ]; then
    kill -QUIT "$pid" && did+=("quit the system nginx")
  fi
fi

# ---- services: each checked as the tests use it, started with this machine kind's own command
pg_url=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
redis_url=${TEST_REDIS_URL:-redis://127.0.0.1:6379}
hostport=${redis_url#*://}
hostport=${hostport##*@}
hostport=${hostport%%/*}
redis_port=6379
[[ $hostport == *:* ]] && redis_port=${hostport##*:}
pg_up() { pg_isready -q -t 5 -d "$pg_url"; }
redis_up() { [ "$(redis-cli -u "$redis_url" ping 2>/dev/null)" = PONG ]; }
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222 && read -r -t 5 line <&3 && [[ $line == INFO* ]]) 2>/dev/null; }

ensure() { # ensure NAME CHECK COMMAND...: start when not answering, then wait (30 s at most)
  local name=$1 up=$2 cmd
  shift 2
  "$up" && return 0
  printf -v cmd '%q ' "$@"
  [ "$EUID" -eq 0 ] || die "$name does not answer. As root, start it:
sudo $cmd"
  "$@" >>"$log" 2>&1 || true # a failure shows in the checks below, with this output
  for _ in $(seq 60); do
    "$up" && did+=("started $name") && return 0
    sleep 0.5
  done
  cat "$log" >&2
  die "$name still does not answer 30 s after: $cmd"
}
ensure PostgreSQL pg_up pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql 2>/dev/null | head -n1)" main start
ensure Redis redis_up redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" \
  --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
# NATS is for work to come, not these tests: started when it is there and we may, never required.
if [ -x /usr/sbin/nats-server ] && [ "$EUID" -eq 0 ]; then
  ensure NATS nats_up start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi

if [ "${#did[@]}" -gt 0 ]; then
  done_=$(printf '%s; ' "${did[@]}")
  say "${done_%; }"
fi
