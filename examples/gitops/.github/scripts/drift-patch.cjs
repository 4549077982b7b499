// The drift as JSON Patch, for the drift issue (fyno-drift.yml): one line per profile from the
// `profiles` of a saved plan (`fyno-sync plan … --out drift-plan.json`), each the RFC 6902 patch
// from the live profile to the one in git, secrets already masked by fyno-sync. Kept under a
// character budget (GitHub's limit for an issue body is 65,536); what does not fit is counted.
//
//   node .github/scripts/drift-patch.cjs drift-plan.json MAX_CHARS >> body.md

/**
 * @param {string} planText the saved plan (JSON)
 * @param {number} maxChars the most characters the section may take
 * @returns {string} a Markdown section, or '' when no profile has a patch (or nothing fits)
 */
function renderDriftPatch(planText, maxChars) {
  const plan = JSON.parse(planText);
  const lines = Object.entries(plan.profiles || {}).map(([id, p]) => JSON.stringify({ distinct_id: id, patch: p.patch }));
  if (lines.length === 0) return '';
  // A fence longer than any run of backticks in the values, so no value can close it.
  const longest = Math.max(2, ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) || []).map((r) => r.length))));
  const fence = '`'.repeat(longest + 1);
  const head =
    `\n<details><summary>Drift as JSON Patch (RFC 6902): ${lines.length} profile(s)</summary>\n\n` +
    'One line per profile: the patch from the live profile to the one in git, secrets masked. ' +
    'The whole plan is the `fyno-drift-plan` artifact of this run.\n\n' +
    `${fence}json\n`;
  const tail = (cut) => `${fence}\n${cut > 0 ? `\n… ${cut} more profile(s) not shown.\n` : ''}</details>\n`;
  let body = '';
  let shown = 0;
  for (const line of lines) {
    const next = `${body}${line}\n`;
    if (head.length + next.length + tail(lines.length - shown - 1).length > maxChars) break;
    body = next;
    shown += 1;
  }
  if (shown === 0) return '';
  return head + body + tail(lines.length - shown);
}

module.exports = { renderDriftPatch };

if (require.main === module) {
  const [file, max] = process.argv.slice(2);
  const text = require('node:fs').readFileSync(file, 'utf8');
  process.stdout.write(renderDriftPatch(text, Number(max)));
}
