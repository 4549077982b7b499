#!/usr/bin/env bash
# The action's fyno-sync step (action.yml), for one command:
#   plan   validate, then plan PATH as Markdown (incremental with INPUT_BASE_REF), saved to
#          INPUT_PLAN_FILE; outputs exitcode and has-changes (exit 2 of --detailed-exitcode)
#   apply  apply the reviewed INPUT_PLAN_FILE verbatim (--json to apply.json); a stale plan
#          writes nothing and fails with a message saying to re-plan
#   drift  a FULL plan of PATH as Markdown; outputs exitcode and drift
# test/integration/gitops-commands.test.ts runs it against the emulator.
set -euo pipefail
cmd="${1:?usage: run.sh plan|apply|drift}"
path="${INPUT_PATH:-fyno/}"
plan_file="${INPUT_PLAN_FILE:-fyno-plan.json}"
markdown="${INPUT_MARKDOWN_FILE:-fyno-plan.md}"
out="${GITHUB_OUTPUT:-/dev/null}"
yes_no() { if [ "$1" = 2 ]; then echo true; else echo false; fi; }
# fyno-sync ARGS… (a plan with --detailed-exitcode) into $markdown; outputs exitcode and NAME
# (true when there are changes). 0: nothing to change, 2: changes; anything else is an error
# (message on stderr above).
markdown_plan() {
  local name="$1" rc=0
  shift
  fyno-sync "$@" >"$markdown" || rc=$?
  echo "exitcode=$rc" >>"$out"
  echo "$name=$(yes_no "$rc")" >>"$out"
  if [ "$rc" != 0 ] && [ "$rc" != 2 ]; then exit "$rc"; fi
}

case "$cmd" in
  plan)
    fyno-sync validate "$path"
    args=(plan "$path" --markdown --out "$plan_file" --detailed-exitcode)
    if [ -n "${INPUT_BASE_REF:-}" ]; then
      # Only the profiles this change touches (docs/incremental.md); needs the base's history.
      base="$(git merge-base "$INPUT_BASE_REF" HEAD)"
      args+=(--changed-since "$base")
    fi
    markdown_plan has-changes "${args[@]}"
    ;;
  apply)
    args=(apply --plan "$plan_file" --json)
    if [ "${INPUT_ALLOW_DELETE:-false}" = true ]; then args+=(--allow-delete); fi
    rc=0
    fyno-sync "${args[@]}" >apply.json || rc=$?
    cat apply.json
    echo "exitcode=$rc" >>"$out"
    if [ "$rc" != 0 ]; then
      code="$(node -e 'try { console.log(JSON.parse(require("fs").readFileSync("apply.json", "utf8")).error?.code ?? "") } catch { console.log("") }')"
      if [ "$code" = plan.stale ]; then
        echo "::error::Live Fyno changed since this plan was reviewed; NOTHING was written. Re-plan: open a pull request (an empty commit is enough) so that a fresh plan is reviewed, then merge it."
      else
        echo "::error::fyno-sync apply failed (exit $rc${code:+, $code}); see apply.json above. Operations reported as applied are done; re-plan (open a pull request, an empty commit is enough): a fresh plan holds only what is still missing."
      fi
      exit 1
    fi
    ;;
  drift)
    args=(plan "$path" --detailed-exitcode --markdown)
    # With a plan file the drift plan is kept too: its `profiles` hold each profile's JSON Patch.
    if [ -n "${INPUT_PLAN_FILE:-}" ]; then args+=(--out "$INPUT_PLAN_FILE"); fi
    markdown_plan drift "${args[@]}"
    ;;
  *)
    echo "::error::unknown command '$cmd': use plan, apply or drift"
    exit 1
    ;;
esac
