#!/bin/sh
# Starts calibre-web-kosync as PUID:PGID (default 1000:1000), as linuxserver.io images run their app,
# so it reads and writes the app.db that the Calibre-Web container owns. Started as a non-root user
# (`docker run --user`), it runs as that user and PUID/PGID are ignored. Nothing is chowned: /config
# and /books belong to Calibre-Web.
set -eu

cli=/app/dist/src/cli.js

if [ "$(id -u)" != 0 ]; then
  exec node "$cli" "$@"
fi

uid=${PUID:-1000}
gid=${PGID:-1000}
case "$uid:$gid" in
  *[!0-9:]* | :* | *:)
    echo "calibre-web-kosync: PUID and PGID must be numeric ids (got PUID=$uid PGID=$gid)" >&2
    exit 2
    ;;
esac
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- node "$cli" "$@"
