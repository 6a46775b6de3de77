#!/usr/bin/env bash
# The krew plugin of `kubectl nsreport`: the image's runtime file set (scripts/image-rootfs.sh)
# with two launchers, kubectl-nsreport and kubectl_complete-nsreport, as
# OUT/nsreport-vVERSION.tar.gz, and manifests/krew-plugin.yaml for it as OUT/nsreport.yaml.
#   scripts/krew-archive.sh OUT
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: krew-archive.sh OUT}
version=$(node -p "require('$root/package.json').version")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$root/scripts/image-rootfs.sh" "$work/nsreport" >/dev/null
# krew unpacks regular files and directories only (pkg/download: "unable to handle file type"):
# npm's .bin links are for a shell's PATH, not for the app.
find "$work/nsreport" -type d -name .bin -prune -exec rm -rf {} +
if [ -n "$(find "$work/nsreport" -type l -print -quit)" ]; then
  echo "krew-archive: symbolic links krew cannot unpack:" >&2
  find "$work/nsreport" -type l >&2
  exit 1
fi
for bin in kubectl-nsreport kubectl_complete-nsreport; do
  [ "$bin" = kubectl-nsreport ] && entry=main.js || entry=kubectl-complete.js
  cat >"$work/nsreport/$bin" <<SH
#!/bin/sh
# $bin: krew links it into its bin directory; the app is beside the file it links to.
here=\$(dirname "\$(readlink -f "\$0")")
exec node "\$here/app/dist/src/cli/$entry" "\$@"
SH
  chmod 0755 "$work/nsreport/$bin"
done
mkdir -p "$out"
archive=$out/nsreport-v$version.tar.gz
tar -C "$work" --owner=0 --group=0 --sort=name -czf "$archive" nsreport
sha=$(sha256sum "$archive" | cut -d' ' -f1)
sed -e "s/{{VERSION}}/$version/g" -e "s/{{SHA256}}/$sha/" "$root/manifests/krew-plugin.yaml" >"$out/nsreport.yaml"
echo "$archive"
