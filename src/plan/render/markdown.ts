/**
 * `plan --markdown`: a pull-request comment (PRODUCT.md, "Commands"). Summary first, then the
 * problems that block the plan, then the risky operations (profile delete, merge, channel
 * delete), then a collapsible section per profile. Always shorter than `maxChars` (GitHub refuses
 * comments over 65,536 characters; the default 60,000 leaves room): whatever does not fit is left
 * out and counted ("N profiles (M operations) not shown").
 */
import type { Operation, Plan } from '../types.js';
import { isSuppressionOp, OP_INFO } from '../types.js';
import { ACTION_SIGN, describeOperation, describeRisk, issueLine, noChangesText, profileChanges, scopeLine, summaryLine, suppressionChanges, type Line } from './describe.js';

export interface RenderMarkdownOptions {
  /** Upper bound (exclusive) on the length of the result. Default 60,000. */
  maxChars?: number;
}

const DEFAULT_MAX = 60_000;
/** Space kept for the closing note, whatever was cut. */
const FOOTER_RESERVE = 600;
/** No single profile's section may take more than this share of the budget. */
const SECTION_SHARE = 0.25;

/** Text for inline HTML and Markdown: no tag, entity, emphasis, link or table cell can open. */
export function escapeMd(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!).replace(/([\\`*_[\]|~#])/g, '\\$1');
}

/** `<code>` with HTML escaping: safe for any id inside <summary>, lists and tables. */
function code(s: string): string {
  return `<code>${s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)}</code>`;
}

/** A fenced block no line of `body` can close: one backtick more than its longest run. */
function fenced(lang: string, body: string): string {
  let longest = 0;
  for (const m of body.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${body}\n${fence}`;
}

/** Diff-block sign: GitHub colours `+` green, `-` red, `!` orange. */
function diffLine(l: Line): string {
  const sign = l.sign === '~' ? '!' : l.sign === '»' ? '!' : l.sign;
  return `${sign} ${l.sign === '»' ? '» ' : ''}${l.text.replace(/\n/g, ' ')}`;
}

/** Adds whole items while they fit in `budget`; returns how many were added. */
function takeWhile(out: string[], items: Iterable<string>, budget: number): { added: number; used: number } {
  let used = 0;
  let added = 0;
  for (const s of items) {
    if (used + s.length + 1 > budget) break;
    out.push(s);
    used += s.length + 1;
    added += 1;
  }
  return { added, used };
}

function riskyOps(plan: Plan): Operation[] {
  return plan.operations.filter((op) => OP_INFO[op.type].risky);
}

export function renderMarkdown(plan: Plan, opts: RenderMarkdownOptions = {}): string {
  const max = Math.max(2_000, opts.maxChars ?? DEFAULT_MAX);
  const s = plan.summary;
  const head: string[] = [
    '### fyno-sync plan',
    '',
    `**${summaryLine(s)}** ${s.operations} operation(s) on ${code(plan.target.workspace)} (${plan.target.env}).`,
    '',
    '| Create | Update | Merge | Delete | Unchanged | Operations |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${s.create} | ${s.update} | ${s.merge} | ${s.delete} | ${s.unchanged} | ${s.operations} |`,
  ];
  const scope = scopeLine(plan);
  if (scope) head.push('', `_${escapeMd(scope)}_`);

  let budget = max - 1 - FOOTER_RESERVE - head.join('\n').length;
  const body: string[] = [];
  const cut: string[] = [];

  // 1. Problems first: a plan with issues cannot be applied.
  if (plan.issues.length > 0) {
    body.push('', '> [!CAUTION]', `> **${plan.issues.length} problem(s) prevent applying this plan:**`);
    const r = takeWhile(body, plan.issues.map((i) => `> - ${escapeMd(issueLine(i))}`), Math.floor(budget * 0.25));
    if (r.added < plan.issues.length) body.push(`> - … and ${plan.issues.length - r.added} more (see \`fyno-sync plan\` output)`);
    budget -= r.used + 200;
  }

  // 2. Risky operations called out before the details.
  const risky = riskyOps(plan);
  if (risky.length > 0) {
    body.push('', `#### ⚠️ Destructive operations (${risky.length})`, '');
    const r = takeWhile(body, risky.map((op) => `- ${isSuppressionOp(op) ? 'suppression list' : code(op.distinct_id)}: ${escapeMd(describeRisk(op))}`), Math.floor(budget * 0.2));
    if (r.added < risky.length) {
      body.push(`- … and ${risky.length - r.added} more`);
      cut.push(`${risky.length - r.added} destructive operation(s) not listed above`);
    }
    budget -= r.used + 200;
  }

  // 3. The suppression list in its own section (issue #18), before the profiles: it is short.
  const list = suppressionChanges(plan);
  if (list.length > 0) {
    body.push('', `#### Suppression list (${list.length} operation${list.length === 1 ? '' : 's'})`, '');
    const lines = list.flatMap((op) => describeOperation(op).map(diffLine));
    const block = fenced('diff', lines.join('\n'));
    if (block.length + 2 <= Math.floor(budget * 0.3)) {
      body.push(block);
      budget -= block.length + 2;
    } else {
      body.push(`${list.length} suppression operation(s) not shown: run \`fyno-sync plan\` for them.`);
      cut.push(`${list.length} suppression operation(s) not shown`);
    }
  }

  // 4. One collapsible section per profile, while they fit.
  const profiles = profileChanges(plan);
  if (profiles.length === 0) {
    // With suppression list changes above there is nothing else to say.
    const none = noChangesText(plan);
    if (list.length === 0) body.push('', plan.issues.length > 0 ? 'No other changes.' : `**${none.head}**${none.rest}`);
  } else {
    body.push('', '#### Changes by profile');
    budget -= 30;
    const sectionMax = Math.max(500, Math.floor((max - FOOTER_RESERVE) * SECTION_SHARE));
    let shown = 0;
    let shownOps = 0;
    for (const p of profiles) {
      const section = profileSection(p.distinct_id, p.action, p.operations, Math.min(sectionMax, budget));
      if (!section || section.length + 2 > budget) break;
      body.push('', section);
      budget -= section.length + 2;
      shown += 1;
      shownOps += p.operations.length;
    }
    if (shown < profiles.length) {
      cut.push(`${profiles.length - shown} profile(s) (${plan.operations.length - list.length - shownOps} operation(s)) not shown`);
    }
  }

  const footer: string[] = [''];
  if (cut.length > 0) {
    footer.push(`> [!NOTE]`, `> Cut to stay under ${max.toLocaleString('en-US')} characters: ${cut.join('; ')}. Run \`fyno-sync plan\` or \`plan --json\` for the whole plan.`, '');
  }
  footer.push(`<sub>fyno-sync plan format ${plan.format_version}, computed ${escapeMd(plan.created_at)}.</sub>`);
  return `${[...head, ...body, ...footer].join('\n')}\n`;
}

/**
 * A `<details>` section for one profile, at most `limit` characters: operations that do not fit
 * are counted on a last line instead. `undefined` when not even the header fits.
 */
function profileSection(id: string, action: string, ops: readonly Operation[], limit: number): string | undefined {
  const sign = ACTION_SIGN[action as keyof typeof ACTION_SIGN];
  const open = `<details><summary>${code(sign.trim() || '·')} ${code(id)}: ${action}, ${ops.length} operation${ops.length === 1 ? '' : 's'}</summary>\n\n`;
  const close = '\n\n</details>';
  const room = limit - open.length - close.length - 80; // fence and the "more" line
  if (room < 40) return undefined;
  const lines: string[] = [];
  let used = 0;
  let done = 0;
  for (const op of ops) {
    const ls = describeOperation(op).map(diffLine);
    const len = ls.reduce((n, l) => n + l.length + 1, 0);
    if (used + len > room) break;
    lines.push(...ls);
    used += len;
    done += 1;
  }
  if (done < ops.length) lines.push(`# … ${ops.length - done} more operation(s) not shown`);
  const section = `${open}${fenced('diff', lines.join('\n'))}${close}`;
  return section.length <= limit ? section : undefined;
}
