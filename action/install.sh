#!/usr/bin/env bash
# The action's install step (action.yml): fyno-sync onto PATH. With INPUT_PACKAGE (e.g.
# fyno-sync@0.1.0 once it is published, or a tarball), npm installs that; otherwise the copy of
# fyno-sync this action was checked out from (`uses: <repo>@<ref>`) is packed (prepack builds
# dist/) and installed, so the ref pins the version.
set -euo pipefail
if [ -n "${INPUT_PACKAGE:-}" ]; then
  npm install --global --no-audit --no-fund "$INPUT_PACKAGE"
else
  cd "${GITHUB_ACTION_PATH:?set by the runner: this action checkout}"
  npm ci --no-audit --no-fund
  tarball="$(npm pack --silent | tail -1)"
  npm install --global --no-audit --no-fund "./$tarball"
  rm -f "$tarball"
fi
echo "fyno-sync $(fyno-sync --version) installed"
