#!/bin/sh
# Starts calibre-web-kosync as PUID:PGID (default 1000:1000), as linuxserver.io images run their app,
# so it reads and writes the app.db that the Calibre-Web container owns. Started as a non-root user
# (`docker run --user`), it runs as that user and PUID/PGID are ignored. Nothing is chowned: /config
# and /books belong to Calibre-Web.
set -eu

cli=/app/dist/src/cli.js
# node flags read only at its start: the launch flags of src/cli/heap-settings.ts (LAUNCH_FLAGS).
node_flags=--v8-pool-size=1

if [ "$(id -u)" != 0 ]; then
  exec node $node_flags "$cli" "$@"
fi

refuse() {
  echo "calibre-web-kosync: $1" >&2
  exit 2
}

# NAME VALUE: a decimal id of a user or group other than root's. 4294967295 is (uid_t)-1, which the
# kernel reads as "leave unchanged".
check_id() {
  case $2 in
    '' | *[!0-9]*) refuse "$1 must be a number such as 1000, the owner of /config (got $1=$2)" ;;
  esac
  if [ ${#2} -gt 10 ] || [ "$2" -gt 4294967294 ]; then
    refuse "$1 must be at most 4294967294 (got $1=$2)"
  fi
  if [ "$2" -eq 0 ]; then
    refuse "$1=$2 would run calibre-web-kosync as root; set $1 to the owner of /config, as for Calibre-Web (e.g. 1000)"
  fi
}

uid=${PUID:-1000}
gid=${PGID:-1000}
check_id PUID "$uid"
check_id PGID "$gid"

# HOME as `docker run --user` sets it: the passwd entry's home, else /.
HOME=$(getent passwd "$uid" | cut -d: -f6)
export HOME="${HOME:-/}"

# The base image has setuid programs (su, mount, passwd...); no-new-privs keeps them from raising
# the server, or anything it runs, back to root.
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- node $node_flags "$cli" "$@"
