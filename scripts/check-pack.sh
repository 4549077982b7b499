#!/usr/bin/env bash
# Proves the package works on its own (issue #16): `npm pack` of an UNBUILT copy of the repository
# (prepack must build dist/), the tarball installed into an empty directory with --omit=dev, then
# the installed CLI run from there: --help, validate, demo, the emulator, plan --out, show, pull —
# and the `$schema` header of a pulled file resolved and loaded with a JSON Schema validator; last,
# the GitHub Action's install step (action/install.sh) installs the same tarball.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1. An unbuilt clone: the files git knows (tracked and new, not ignored), no dist/.
mkdir "$work/clone"
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
  while IFS= read -r -d '' f; do if [ -f "$root/$f" ]; then printf '%s\0' "$f"; fi; done |
  (cd "$root" && xargs -0 cp --parents -t "$work/clone")
ln -s "$root/node_modules" "$work/clone/node_modules"
test ! -e "$work/clone/dist"
(cd "$work/clone" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$(ls "$work"/fyno-sync-*.tgz)"
tar tzf "$tarball" >"$work/contents"
grep -qx 'package/dist/cli/bin.js' "$work/contents"
grep -qx 'package/examples/basic/emulator-seed.json' "$work/contents"

# 2. Installed where there is no repository, without dev dependencies.
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --omit=dev --no-audit --no-fund "$tarball" >/dev/null
test ! -d node_modules/vitest
pkg=node_modules/fyno-sync
bin=node_modules/.bin/fyno-sync

"$bin" --help >/dev/null
"$bin" validate "$pkg/examples/basic"
"$bin" demo >demo.out
tail -1 demo.out | grep -q 'live state matches the files'

# 3. The emulator, and the commands that talk to it.
"$bin" emulator --port 0 --seed-file "$pkg/examples/basic/emulator-seed.json" >emulator.out 2>emulator.err &
emu_pid=$!
for _ in $(seq 1 100); do if [ -s emulator.out ]; then break; fi; sleep 0.1; done
base_url="$(head -1 emulator.out)"
export FYNO_BASE_URL="$base_url" FYNO_API_KEY=emulator-key FYNO_WSID=FYEMULATOR NO_COLOR=1
"$bin" plan "$pkg/examples/basic" --out plan.json >/dev/null
"$bin" show plan.json >show.out
grep -q '^Plan: ' show.out
"$bin" show plan.json --json | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.status!=="changes")process.exit(1)})'
ids="$(node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log((s.profiles||[]).slice(0,2).map((p)=>p.distinct_id).join(" "))' "$pkg/examples/basic/emulator-seed.json")"
# shellcheck disable=SC2086
"$bin" pull $ids -o pulled >/dev/null

# 4. The schema a pulled file names resolves here and validates the file.
node --input-type=module - pulled <<'JS'
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
const require = createRequire(path.resolve('node_modules/fyno-sync/package.json'));
const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const YAML = require('yaml');
const dir = process.argv[2];
for (const name of readdirSync(dir)) {
  const file = path.join(dir, name);
  const text = readFileSync(file, 'utf8');
  const ref = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)?.[1];
  if (!ref) throw new Error(`${file}: no $schema header`);
  const schema = JSON.parse(readFileSync(path.resolve(path.dirname(file), ref), 'utf8'));
  const ajv = new Ajv({ strict: true, allowUnionTypes: true });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  if (!validate(YAML.parse(text))) throw new Error(`${file}: ${ajv.errorsText(validate.errors)}`);
  console.log(`${file}: valid against ${ref}`);
}
JS
# 5. The GitHub Action's install step, given the tarball as its `package` input. Its "global"
# install goes to a prefix inside $work: under `npm test`, npm exports npm_config_prefix, which
# wins over NPM_CONFIG_PREFIX, so both are set.
PATH="$work/global/bin:$PATH" npm_config_prefix="$work/global" NPM_CONFIG_PREFIX="$work/global" INPUT_PACKAGE="$tarball" \
  bash "$root/action/install.sh" | tail -1
"$work/global/bin/fyno-sync" --version >/dev/null

echo "package OK: $(basename "$tarball")"
