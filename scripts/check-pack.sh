#!/usr/bin/env bash
# Proves the published package works on its own: `npm pack`, install the tarball in an empty
# directory without dev dependencies, then run the CLI (help, validate, the demo) from there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
npm run build >/dev/null
tarball="$(npm pack --silent | tail -1)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir" "$root/$tarball"' EXIT
cd "$dir"
npm init -y >/dev/null
npm install --omit=dev --no-audit --no-fund "$root/$tarball" >/dev/null
npx fyno-sync --help >/dev/null
test -f node_modules/fyno-sync/schemas/desired-state.schema.json
test -f node_modules/fyno-sync/schemas/plan.schema.json
test ! -d node_modules/vitest
cp -r "$root/examples/basic" example
npx fyno-sync validate example
npx fyno-sync demo example | tail -1
echo "package OK: $tarball"
