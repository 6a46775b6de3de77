#!/usr/bin/env bash
# Builds the nsreport image from the repository's Dockerfile with a real builder (buildah, no
# Docker engine) and exports it as an OCI archive. No registry is reachable, so the Dockerfile's
# two bases are substituted through its build arguments by local equivalents, made once per
# version and cached outside the repo:
#   build base    Debian bookworm minbase (mmdebstrap) + node and npm from the npm registry
#   runtime base  the same Debian + node at /nodejs/bin/node (the distroless layout)
# buildah's storage lives in a temporary directory that is removed at the end.
#
#   image.sh build OUT.tar [TAG]     default TAG localhost/nsreport:e2e
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${NSREPORT_CACHE:-/var/cache/nsreport}/images
SUITE=bookworm
NPM_VERSION=${NPM_VERSION:-10.9.4}
log() { printf 'image: %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Debian minbase root filesystem, from the machine's apt sources (~20 s, once).
debian_rootfs() {
  local tar=$cache/debian-$SUITE-minbase.tar
  if [ ! -s "$tar" ]; then
    mkdir -p "$cache"
    log "mmdebstrap $SUITE minbase (once; cached in $cache)"
    mmdebstrap --quiet --variant=minbase --include=ca-certificates "$SUITE" "$tar.tmp" >&2
    mv "$tar.tmp" "$tar"
  fi
  echo "$tar"
}

# npm, from the npm registry, once per version.
npm_tree() {
  local dir=$cache/npm-$NPM_VERSION
  if [ ! -f "$dir/node_modules/npm/bin/npm-cli.js" ]; then
    mkdir -p "$dir"
    npm install --no-audit --no-fund --silent --prefix "$dir" "npm@$NPM_VERSION" >&2
  fi
  echo "$dir/node_modules/npm"
}

bah() { buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs "$@"; }

cleanup() {
  bah rm -a >/dev/null 2>&1 || true
  rm -rf "$work"
  if [ "$had_bridge" = 0 ]; then ip link del cni-podman0 2>/dev/null || true; fi
}

build() {
  local out=${1:?usage: image.sh build OUT.tar [TAG]} tag=${2:-localhost/nsreport:e2e}
  install_packages
  local node rootfs npm node_version
  node=$(bash "$root/scripts/node24.sh")
  node_version=$("$node" --version)
  rootfs=$(debian_rootfs)
  npm=$(npm_tree)
  # Globals: the EXIT trap runs after this function has returned.
  work=$(mktemp -d /tmp/nsreport-image.XXXXXX)
  # buildah makes its default network's bridge even for a host-network build.
  had_bridge=0
  ip link show cni-podman0 >/dev/null 2>&1 && had_bridge=1
  trap cleanup EXIT

  local build_base=localhost/nsreport-base/node-build:$node_version
  local runtime_base=localhost/nsreport-base/node-runtime:$node_version
  log "bases: Debian $SUITE + node $node_version (+ npm $NPM_VERSION for the build stage)"
  local c
  c=$(bah from scratch)
  bah add "$c" "$rootfs" / >/dev/null
  bah copy "$c" "$node" /usr/local/bin/node >/dev/null
  bah copy "$c" "$npm" /usr/local/lib/node_modules/npm >/dev/null
  bah run "$c" -- /bin/sh -c 'printf "#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/npm-cli.js \"\$@\"\n" >/usr/local/bin/npm && chmod 755 /usr/local/bin/npm'
  bah config --env PATH=/usr/local/bin:/usr/bin:/bin "$c"
  bah commit --quiet "$c" "$build_base" >/dev/null
  bah rm "$c" >/dev/null
  c=$(bah from scratch)
  bah add "$c" "$rootfs" / >/dev/null
  bah copy "$c" "$node" /nodejs/bin/node >/dev/null
  bah commit --quiet "$c" "$runtime_base" >/dev/null
  bah rm "$c" >/dev/null

  log "buildah bud $root/Dockerfile -> $tag"
  local t0=$SECONDS
  # The registry's TLS is trusted through the host's CA bundle, which a fresh Debian lacks.
  bah bud --quiet --isolation chroot --network host --layers=false \
    --build-arg "BUILD_IMAGE=$build_base" --build-arg "RUNTIME_IMAGE=$runtime_base" \
    -v /etc/ssl/certs:/etc/ssl/certs:ro \
    --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    -t "$tag" -f "$root/Dockerfile" "$root" >/dev/null
  log "built in $((SECONDS - t0)) s"
  # What the Dockerfile says the image runs as and with.
  bah inspect --type image "$tag" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.stringify(JSON.parse(s).OCIv1.config)))' >"$out.config.json"
  rm -f "$out"
  bah push --quiet "$tag" "oci-archive:$out:$tag" >/dev/null
  # The app file set, for the tests to compare with scripts/image-rootfs.sh.
  c=$(bah from "$tag")
  local mnt
  mnt=$(bah mount "$c")
  (cd "$mnt/app" && find . -type f | LC_ALL=C sort) >"$out.files"
  [ -x "$mnt/nodejs/bin/node" ] && echo /nodejs/bin/node >>"$out.files"
  bah umount "$c" >/dev/null
  bah rm "$c" >/dev/null
  log "$tag: $(du -m "$out" | cut -f1) MB OCI archive at $out"
}

case "${1:-}" in
  build) shift; build "$@" ;;
  *) echo "usage: image.sh build OUT.tar [TAG]" >&2; exit 2 ;;
esac
