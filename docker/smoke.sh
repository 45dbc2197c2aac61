#!/usr/bin/env bash
# Builds the image and runs it once against temp copies of the test fixtures: PUID/PGID, the
# healthcheck, a login, a sync round trip, `doctor`, and a prompt stop on SIGTERM.
# Needs podman or docker with a working engine; not part of CI (the CI machines have none).
# Usage: docker/smoke.sh            (ENGINE=podman|docker to choose; PORT=18084 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

engine=${ENGINE:-}
if [ -z "$engine" ]; then
  for candidate in podman docker; do
    if command -v "$candidate" >/dev/null && "$candidate" info >/dev/null 2>&1; then engine=$candidate; break; fi
  done
fi
if [ -z "$engine" ]; then
  echo "smoke.sh: no working podman or docker engine here; nothing to do" >&2
  exit 77
fi

image=calibre-web-kosync:smoke
port=${PORT:-18084}
name=kosync-smoke-$$
work=$(mktemp -d)
cleanup() {
  "$engine" rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

version=$(node -p "require('./package.json').version")
"$engine" build -f docker/Dockerfile --build-arg VERSION="$version" -t "$image" .
"$engine" image inspect "$image" --format 'image size: {{.Size}} bytes'

# The fixtures, owned by an unprivileged uid as a linuxserver Calibre-Web container would own them.
mkdir -p "$work/config" "$work/books"
cp test/fixtures/calibre-web/app.db test/fixtures/calibre-web/.key "$work/config/"
cp -r test/fixtures/calibre-cwa/. "$work/books/"
uid=$(id -u) gid=$(id -g)
"$engine" run -d --name "$name" -p "127.0.0.1:$port:8084" -e PUID="$uid" -e PGID="$gid" \
  -v "$work/config:/config" -v "$work/books:/books" "$image"

base="http://127.0.0.1:$port/kosync"
for _ in $(seq 1 30); do
  curl -fsS "$base/healthcheck" >/dev/null 2>&1 && break
  sleep 1
done
check() { # description, expected, actual
  if [ "$2" != "$3" ]; then echo "FAIL $1: expected $2, got $3" >&2; "$engine" logs "$name" >&2; exit 1; fi
  echo "ok   $1"
}
check "healthcheck" '{"state":"OK"}' "$(curl -sS "$base/healthcheck")"
check "login" '{"authorized":"OK"}' "$(curl -sS -u dave:oldtimer "$base/users/auth")"
doc=e1dbc3a8ba7a76e2bc720bd6815715b0
curl -sS -u dave:oldtimer -X PUT -H 'content-type: application/json' \
  -d "{\"document\":\"$doc\",\"progress\":\"/body/p[1]\",\"percentage\":0.5,\"device\":\"smoke\"}" "$base/syncs/progress" >/dev/null
check "pull" '"/body/p[1]"' "$(curl -sS -u dave:oldtimer "$base/syncs/progress/$doc" | node -p 'JSON.stringify(JSON.parse(require("fs").readFileSync(0,"utf8")).progress)')"
check "runs as PUID" "$uid" "$("$engine" exec "$name" sh -c 'for p in /proc/[0-9]*; do tr "\\0" " " <"$p/cmdline" | grep -q "^node /app/dist/src/cli.js" && stat -c %u "$p"; done | head -1')"
check "state db written as PUID:PGID" "$uid:$gid" "$(stat -c %u:%g "$work/config/kosync.db")"
"$engine" exec "$name" calibre-web-kosync doctor
# The image's HEALTHCHECK command itself (the engine runs it only every 30 s).
healthcheck=$("$engine" image inspect "$image" --format '{{json .Config.Healthcheck.Test}}' | node -p 'JSON.parse(require("fs").readFileSync(0,"utf8")).slice(1).join("\n")')
mapfile -t healthcheck_argv <<<"$healthcheck"
check "HEALTHCHECK command" 0 "$("$engine" exec "$name" "${healthcheck_argv[@]}" >/dev/null; echo $?)"
start=$(date +%s)
"$engine" stop -t 10 "$name" >/dev/null
check "stops on SIGTERM within 3 s" yes "$([ $(( $(date +%s) - start )) -le 3 ] && echo yes || echo no)"
echo "smoke test passed"
