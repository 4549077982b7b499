// Post the plan as ONE pull-request comment, updated on every push instead of duplicated.
// Used by the action (action.yml, command: plan) through actions/github-script (`github` is an
// authenticated Octokit, `context` the workflow context). The hidden marker finds our comment again.
const MARKER = '<!-- fyno-sync-plan -->';

/**
 * @param {{ github: any, context: any, plan: string }} args
 * @returns {Promise<{ action: 'created' | 'updated', id: number }>}
 */
async function upsertPlanComment({ github, context, plan }) {
  const run = `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/actions/runs/${context.runId}`;
  const sha = String(context.payload.pull_request.head.sha).slice(0, 7);
  const body = `${MARKER}\n${plan}\n\n<sub>fyno-sync plan for ${sha} · [run](${run}) · applied by \`fyno apply\` after merge</sub>`;
  const comments = await github.paginate(github.rest.issues.listComments, {
    ...context.repo,
    issue_number: context.issue.number,
    per_page: 100,
  });
  const mine = comments.find((c) => c.user && c.user.type === 'Bot' && typeof c.body === 'string' && c.body.startsWith(MARKER));
  if (mine) {
    await github.rest.issues.updateComment({ ...context.repo, comment_id: mine.id, body });
    return { action: 'updated', id: mine.id };
  }
  const created = await github.rest.issues.createComment({ ...context.repo, issue_number: context.issue.number, body });
  return { action: 'created', id: created.data.id };
}

module.exports = { upsertPlanComment, MARKER };
