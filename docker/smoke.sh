#!/usr/bin/env bash
# Builds docker/Dockerfile and checks the image the way users run it, on temp copies of the test
# fixtures: what is in the image, PUID/PGID (refused when bad, a real drop to them otherwise), the
# HEALTHCHECK, logins, a sync round trip kept across a restart, `doctor`, a prompt clean stop,
# --read-only, and, given CALIBRE_WEB, real Calibre-Web on the host sharing the mounted app.db while
# the container syncs. Prints the image's size. CI runs it on every run (.ci/run).
#   docker/smoke.sh
# Environment:
#   ENGINE       podman or docker (default: the first that answers `info`)
#   PULL         podman's --pull for the base image: missing (default), never (CI: the stand-in made
#                by docker/base-image.sh), always; docker pulls only with PULL=always
#   PORT         host port for the sidecar (default 18084); CW_PORT for Calibre-Web (default 18083)
#   CALIBRE_WEB  a Calibre-Web source tree (cps.py) to run on the host with Debian's /usr/bin/python3
#                and the python3-* packages .ci/run installs; without it that part is skipped
# Exits 0 when every check passed, 1 at the first failure (the container's log follows), 77 without an engine.
set -euo pipefail
cd "$(dirname "$0")/.."

engine=${ENGINE:-}
if [[ -z $engine ]]; then
  for candidate in podman docker; do
    if command -v "$candidate" >/dev/null && "$candidate" info >/dev/null 2>&1; then engine=$candidate; break; fi
  done
fi
if [[ -z $engine ]]; then
  echo "smoke.sh: no working podman or docker engine here; nothing to do" >&2
  exit 77
fi

image=calibre-web-kosync:smoke
port=${PORT:-18084}
cw_port=${CW_PORT:-18083}
base="http://127.0.0.1:$port/kosync"
name=kosync-smoke-$$
work=$(mktemp -d)
cw_pid=
sync_pid=
cleanup() {
  if [[ -n $sync_pid ]]; then kill "$sync_pid" 2>/dev/null || true; fi
  if [[ -n $cw_pid ]]; then kill "$cw_pid" 2>/dev/null && wait "$cw_pid" 2>/dev/null || true; fi
  for container in "$name" "$name-ro"; do "$engine" rm -f "$container" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL $*" >&2
  for container in "$name" "$name-ro"; do
    if "$engine" inspect "$container" >/dev/null 2>&1; then
      echo "---- log of $container" >&2
      "$engine" logs "$container" 2>&1 | tail -n 40 >&2 || true
    fi
  done
  if [[ -f $work/calibre-web.out ]]; then echo "---- Calibre-Web" >&2; tail -n 40 "$work/calibre-web.out" >&2; fi
  exit 1
}
check() { # description expected actual
  if [[ $2 != "$3" ]]; then fail "$1: expected $2, got $3"; fi
  echo "ok   $1"
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# curl: prints "<status> <body>"; the body is kept in $work/body.
http() {
  local status
  status=$(curl -sS -o "$work/body" -w '%{http_code}' "$@") || status=000
  echo "$status $(cat "$work/body" 2>/dev/null)"
}
# fields BODY EXPRESSION: the expression over the JSON body `v`, as JSON.
fields() { node -p "const v = JSON.parse(process.argv[1]); JSON.stringify($2)" "$1"; }
# quietly COMMAND...: podman logs an error per container with a HEALTHCHECK where systemd does not run
# (it cannot add timers; `podman healthcheck run` works all the same), shown only if COMMAND fails.
quietly() { "$@" 2>"$work/engine.err" || { cat "$work/engine.err" >&2; return 1; }; }
put_progress() { # user:password document percentage device
  http -u "$1" -X PUT -H 'content-type: application/json' \
    -d "{\"document\":\"$2\",\"progress\":\"/body/DocFragment[1]/body/p[3]/text().0\",\"percentage\":$3,\"device\":\"$4\",\"device_id\":\"SMOKE0001\"}" "$base/syncs/progress"
}

# ---- the image ----
version=$(node -p "require('./package.json').version")
build_args=(--build-arg "VERSION=$version" --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
revision=$(git rev-parse HEAD 2>/dev/null || true)
if [[ -n $revision ]]; then build_args+=(--build-arg "REVISION=$revision"); fi
if [[ $engine == podman ]]; then
  # podman's default OCI format has no HEALTHCHECK; the docker format keeps it.
  build_args+=(--format docker "--pull=${PULL:-missing}")
elif [[ ${PULL:-} == always ]]; then
  build_args+=(--pull)
fi
started=$(date +%s%N)
"$engine" build -f docker/Dockerfile "${build_args[@]}" -t "$image" .
echo "image built in $(( $(ms_since "$started") / 1000 )) s"

node_tag=$(sed -n 's/^FROM node:\([0-9.]*\)-.*/\1/p' docker/Dockerfile | sort -u)
check "runs Node $node_tag, the FROM lines' release" "v$node_tag" "$("$engine" run --rm --no-healthcheck --entrypoint node "$image" --version)"
label() { "$engine" image inspect --format "{{index .Config.Labels \"org.opencontainers.image.$1\"}}" "$image"; }
check "label version" "$version" "$(label version)"
check "label revision" "$revision" "$(label revision)"
check "label created is a UTC time" yes "$([[ $(label created) =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] && echo yes || echo no)"
check "HEALTHCHECK kept, with a start period" '{"Test":["CMD","node","/app/healthcheck.mjs"],"StartPeriod":20000000000,"Interval":30000000000,"Timeout":5000000000,"Retries":3}' \
  "$("$engine" image inspect --format '{{json .Config.Healthcheck}}' "$image")"
check "nothing in /app the server never loads (install-time packages, source maps, declarations, empty folders)" "" \
  "$("$engine" run --rm --no-healthcheck --entrypoint sh "$image" -c 'ls -d /app/node_modules/prebuild-install 2>/dev/null; find /app \( -name "*.map" -o -name "*.d.ts" -o -type d -empty -not -path /app/demo-data \) -print')"
unpacked=$("$engine" image inspect --format '{{.Size}}' "$image")
gzipped=$("$engine" save "$image" 2>/dev/null | gzip -6 | wc -c)
tini=$("$engine" run --rm --no-healthcheck --entrypoint stat "$image" -c %s /usr/bin/tini)
echo "image size: $unpacked bytes unpacked ($(( unpacked / 1000000 )) MB), $gzipped bytes gzipped ($(( gzipped / 1000000 )) MB); /usr/bin/tini $tini bytes"

# ---- PUID/PGID that must be refused, each with its reason ----
refused() { # env... -> "<exit code> <stderr>"
  local code=0 args=()
  for setting in "$@"; do args+=(-e "$setting"); done
  "$engine" run --rm --no-healthcheck "${args[@]}" "$image" >/dev/null 2>"$work/stderr" || code=$?
  echo "$code $(grep -v '^time=' "$work/stderr")"
}
check "PUID=abc refused" "2 calibre-web-kosync: PUID must be a number such as 1000, the owner of /config (got PUID=abc)" "$(refused PUID=abc)"
check "PUID=1:2 refused" "2 calibre-web-kosync: PUID must be a number such as 1000, the owner of /config (got PUID=1:2)" "$(refused PUID=1:2)"
check "PGID=-5 refused" "2 calibre-web-kosync: PGID must be a number such as 1000, the owner of /config (got PGID=-5)" "$(refused PGID=-5)"
check "PUID=4294967295 refused" "2 calibre-web-kosync: PUID must be at most 4294967294 (got PUID=4294967295)" "$(refused PUID=4294967295)"
check "PUID=0 refused" "2 calibre-web-kosync: PUID=0 would run calibre-web-kosync as root; set PUID to the owner of /config, as for Calibre-Web (e.g. 1000)" "$(refused PUID=0)"
check "PGID=0 refused" "2 calibre-web-kosync: PGID=0 would run calibre-web-kosync as root; set PGID to the owner of /config, as for Calibre-Web (e.g. 1000)" "$(refused PGID=0)"

# ---- the data: fixtures owned by an unprivileged user, as a linuxserver Calibre-Web container leaves them ----
if [[ $(id -u) == 0 ]]; then puid=1000 pgid=1000; else puid=$(id -u) pgid=$(id -g); fi
mkdir -p "$work/config" "$work/cw"
cp test/fixtures/calibre-web/app.db test/fixtures/calibre-web/.key "$work/config/"
cp -R test/fixtures/calibre-cwa "$work/books"
chmod -R u+w "$work/config" "$work/books"
if [[ -n ${CALIBRE_WEB:-} ]]; then
  kobo_token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  # Calibre-Web's own settings for the host run: its port, the library, Kobo sync with a token for admin.
  /usr/bin/python3 - "$work/config/app.db" "$work/books" "$cw_port" "$kobo_token" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute('UPDATE settings SET config_port = ?, config_calibre_dir = ?, config_kobo_sync = 1', (int(sys.argv[3]), sys.argv[2]))
db.execute("INSERT INTO remote_auth_token (auth_token, user_id, verified, expiration, token_type) VALUES (?, 1, 1, '9999-12-31 23:59:59.999999', 1)", (sys.argv[4],))
db.commit()
EOF
fi
if [[ $(id -u) == 0 ]]; then chown -R "$puid:$pgid" "$work/config" "$work/books"; fi
userns=()
if [[ $engine == podman && $(podman info --format '{{.Host.Security.Rootless}}') == true ]]; then
  userns=(--userns=keep-id --user 0:0) # the host user keeps its id inside, so PUID=$(id -u) owns the files
fi
run_sidecar() { # name, extra run options...
  local container=$1
  shift
  quietly "$engine" run -d --name "$container" "${userns[@]}" -p "127.0.0.1:$port:8084" -e PUID="$puid" -e PGID="$pgid" \
    -v "$work/config:/config" -v "$work/books:/books" "$@" "$image" >/dev/null
}
wait_healthy() { # name: runs the image's own HEALTHCHECK until it passes
  local container=$1
  for _ in $(seq 1 60); do
    if [[ $engine == podman ]]; then
      if podman healthcheck run "$container" >/dev/null 2>&1; then break; fi
    elif [[ $(docker inspect --format '{{.State.Health.Status}}' "$container") == healthy ]]; then
      break
    fi
    sleep 0.5
  done
  check "$container: the HEALTHCHECK reports healthy" healthy "$("$engine" inspect --format '{{.State.Health.Status}}' "$container")"
}
health_options=()
if [[ $engine == docker ]]; then health_options=(--health-interval=1s); fi # docker runs it only on its schedule

# ---- the server, as PUID:PGID ----
run_sidecar "$name" "${health_options[@]}"
wait_healthy "$name"
check "healthcheck answer" '200 {"state":"OK"}' "$(http "$base/healthcheck")"
check "the access log has that request at info, not the HEALTHCHECK's probes" 1 \
  "$("$engine" logs "$name" 2>&1 | grep '"level":30' | grep -c '"route":"/kosync/healthcheck"')"
check "Basic login" '200 {"authorized":"OK"}' "$(http -u dave:oldtimer "$base/users/auth")"
check "wrong password" '401 {"code":2001,"message":"Unauthorized"}' "$(http -u dave:wrong "$base/users/auth")"
book1=e1dbc3a8ba7a76e2bc720bd6815715b0 book2=acb60d6e0cde10d38f5335f8c1b1f34f
pushed=$(put_progress dave:oldtimer "$book1" 0.5 smoke)
check "PUT progress" 200 "${pushed%% *}"
check "PUT matched the library book" '[1,"The Quiet Lighthouse"]' "$(fields "${pushed#* }" '[v.calibre_book_id, v.calibre_book_title]')"
pulled=$(http -u dave:oldtimer "$base/syncs/progress/$book1")
check "GET progress" '200 ["/body/DocFragment[1]/body/p[3]/text().0",0.5,"smoke"]' "${pulled%% *} $(fields "${pulled#* }" '[v.progress, v.percentage, v.device]')"

server_pid=$("$engine" exec "$name" sh -c 'for p in /proc/[0-9]*; do if tr "\000" " " <"$p/cmdline" | grep -q "^node .*/app/dist/src/cli.js serve"; then echo "${p#/proc/}"; fi; done')
[[ -n $server_pid ]] || fail "no node /app/dist/src/cli.js serve process in the container"
# The entrypoint's node_flags: the program's launch flags (src/cli/heap-settings.ts LAUNCH_FLAGS).
check "node runs the server with the program's launch flags" "node --v8-pool-size=1 /app/dist/src/cli.js serve" \
  "$("$engine" exec "$name" sh -c "tr '\000' ' ' </proc/$server_pid/cmdline" | sed 's/ $//')"
status=$("$engine" exec "$name" cat "/proc/$server_pid/status")
check "PID 1 is tini" "/usr/bin/tini" "$("$engine" exec "$name" sh -c 'tr "\000" "\n" </proc/1/cmdline | head -n 1')"
check "server runs as PUID (real, effective, saved, fs)" "$puid $puid $puid $puid" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' <<<"$status")"
check "server runs as PGID" "$pgid $pgid $pgid $pgid" "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' <<<"$status")"
check "server has no capabilities (permitted, effective)" "0000000000000000 0000000000000000" "$(awk '/^Cap(Prm|Eff):/ { print $2 }' <<<"$status" | paste -sd ' ')"
check "server has no supplementary groups" "" "$(awk '/^Groups:/ { $1 = ""; print substr($0, 2) }' <<<"$status")"
check "server cannot gain privileges (no_new_privs)" 1 "$(awk '/^NoNewPrivs:/ { print $2 }' <<<"$status")"
check "server's HOME is PUID's, not /root" "HOME=$("$engine" exec "$name" sh -c "getent passwd $puid | cut -d: -f6 | grep . || echo /")" \
  "$("$engine" exec --user "$puid:$pgid" "$name" sh -c "tr '\000' '\n' </proc/$server_pid/environ | grep '^HOME='")"
check "it made its state database in /config" /config/kosync.db "$("$engine" exec "$name" ls /config/kosync.db)"
check "every file in /config belongs to PUID:PGID" "" "$("$engine" exec "$name" find /config \( ! -uid "$puid" -o ! -gid "$pgid" \) -print)"
doctor_code=0
doctor=$("$engine" exec "$name" calibre-web-kosync doctor 2>&1) || doctor_code=$?
check "doctor through exec exits 0" 0 "$doctor_code"
check "doctor through exec finds the running server" yes "$(grep -q 'ok    a server answers at http://127.0.0.1:8084/kosync/healthcheck' <<<"$doctor" && echo yes || echo no)"

# ---- real Calibre-Web on the host, on the same app.db, while the container syncs ----
if [[ -n ${CALIBRE_WEB:-} ]]; then
  cw="http://127.0.0.1:$cw_port"
  CALIBRE_DBPATH=$work/cw CACHE_DIRECTORY=$work/cw/cache PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 "$CALIBRE_WEB/cps.py" -p "$work/config/app.db" -i 127.0.0.1 >"$work/calibre-web.out" 2>&1 &
  cw_pid=$!
  for _ in $(seq 1 60); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "$cw/login") == 200 ]]; then break; fi
    sleep 0.5
  done
  # Syncs in the background all along: dave reads book 2, a library book, so every PUT also writes
  # book_read_link and the Kobo reading state that Calibre-Web reads and writes.
  (
    for i in $(seq 1 40); do
      put=$(put_progress dave:oldtimer "$book2" "0.$((i + 10))" smoke-loop)
      get=$(http -u dave:oldtimer "$base/syncs/progress/$book2")
      echo "${put%% *} ${get%% *}"
    done >"$work/syncs"
  ) &
  sync_pid=$!
  check "Calibre-Web: login page" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$cw/login")"
  check "Calibre-Web: OPDS with Basic auth" 200 "$(curl -s -o /dev/null -w '%{http_code}' -u admin:admin123 "$cw/opds")"
  jar=$work/cookies
  csrf=$(curl -s -c "$jar" -b "$jar" "$cw/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1)
  check "Calibre-Web: web login" 302 "$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" --data-urlencode "csrf_token=$csrf" \
    --data-urlencode username=admin --data-urlencode password=admin123 "$cw/login")"
  check "Calibre-Web: book page" 200 "$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$cw/book/3")"
  check "Calibre-Web: marks book 3 read itself" 200 "$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -X POST -H "X-CSRFToken: $csrf" "$cw/ajax/toggleread/3")"
  check "Calibre-Web: Kobo library sync" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$cw/kobo/$kobo_token/v1/library/sync")"
  wait "$sync_pid"
  sync_pid=
  check "container: 40 PUTs and GETs while Calibre-Web ran, all 200" "40 200 200" "$(sort "$work/syncs" | uniq -c | awk '{ print $1, $2, $3 }' | paste -sd '|')"

  # A finished book, written by the container, as Calibre-Web shows it.
  pushed=$(put_progress admin:admin123 "$book1" 1 smoke-finished)
  check "container: admin finishes book 1" '200 1' "${pushed%% *} $(fields "${pushed#* }" v.calibre_book_id)"
  read_feed=$(curl -s -u admin:admin123 "$cw/opds/readbooks")
  check "Calibre-Web: admin's read books (OPDS) are book 1, finished in KOReader, and book 3" \
    "<title>The Quiet Lighthouse</title>|<title>Über den Fluss</title>" \
    "$(grep -o '<title>[^<]*</title>' <<<"$read_feed" | grep -v -e '<title>Read Books</title>' -e '<title>Calibre-Web</title>' | LC_ALL=C sort | paste -sd '|')"
  check "Calibre-Web: book 1's page shows it read" yes \
    "$(curl -s -b "$jar" "$cw/book/1" | tr -d '\n' | grep -q 'id="have_read_cb"[^>]*checked' && echo yes || echo no)"
  state=$(http "$cw/kobo/$kobo_token/v1/library/d4c0c785-fce3-4a26-84c2-f96145802e29/state")
  check "Calibre-Web: Kobo reading state of book 1" '200 ["Finished",100]' \
    "${state%% *} $(fields "${state#* }" '[v[0].StatusInfo.Status, v[0].CurrentBookmark.ProgressPercent]')"
  check "Calibre-Web: Kobo library sync after the container's writes" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$cw/kobo/$kobo_token/v1/library/sync")"
  check "Calibre-Web: no server error logged" "" "$(grep -E 'Traceback|Internal Server Error' "$work/cw/calibre-web.log" "$work/calibre-web.out" || true)"
  pulled=$(http -u admin:admin123 "$base/syncs/progress/$book1")
  check "container: admin's progress after Calibre-Web's writes" '200 1' "${pulled%% *} $(fields "${pulled#* }" v.percentage)"
  kill "$cw_pid" && wait "$cw_pid" 2>/dev/null || true
  cw_pid=
else
  echo "skip Calibre-Web on the same app.db (set CALIBRE_WEB to a Calibre-Web source tree)"
fi

# ---- stop, restart, and what survives ----
started=$(date +%s%N)
quietly "$engine" stop -t 10 "$name" >/dev/null
stop_ms=$(ms_since "$started")
check "stops on SIGTERM in under 2 s ($stop_ms ms)" yes "$([[ $stop_ms -lt 2000 ]] && echo yes || echo no)"
check "exit code after stop" 0 "$("$engine" inspect --format '{{.State.ExitCode}}' "$name")"
quietly "$engine" start "$name" >/dev/null
wait_healthy "$name"
pulled=$(http -u dave:oldtimer "$base/syncs/progress/$book1")
check "progress kept across a restart" '200 0.5' "${pulled%% *} $(fields "${pulled#* }" v.percentage)"
quietly "$engine" rm -f "$name" >/dev/null

# ---- a read-only root filesystem: only /config is written ----
read_only=(--read-only)
if [[ $engine == podman ]]; then read_only+=(--read-only-tmpfs=false); fi # podman would add writable /tmp, /var/tmp, /run
run_sidecar "$name-ro" "${read_only[@]}" "${health_options[@]}"
wait_healthy "$name-ro"
pushed=$(put_progress dave:oldtimer "$book1" 0.75 smoke-ro)
check "--read-only: PUT progress" 200 "${pushed%% *}"
pulled=$(http -u dave:oldtimer "$base/syncs/progress/$book1")
check "--read-only: GET progress" '200 0.75' "${pulled%% *} $(fields "${pulled#* }" v.percentage)"
doctor_code=0
"$engine" exec "$name-ro" calibre-web-kosync doctor >/dev/null 2>&1 || doctor_code=$?
check "--read-only: doctor exits 0" 0 "$doctor_code"
started=$(date +%s%N)
quietly "$engine" stop -t 10 "$name-ro" >/dev/null
stop_ms=$(ms_since "$started")
check "--read-only: stops in under 2 s ($stop_ms ms) with exit code 0" "yes 0" "$([[ $stop_ms -lt 2000 ]] && echo yes || echo no) $("$engine" inspect --format '{{.State.ExitCode}}' "$name-ro")"

echo "smoke test passed: $image, $unpacked bytes unpacked, $gzipped bytes gzipped"
