/**
 * Human output of `plan` (PRODUCT.md, "Commands"): the summary line first, then problems that
 * block the plan, then per profile only what changes, before → after. Returns a string; colour
 * only through the style the CLI hands over (off unless given).
 */
import { inspect } from 'node:util';
import { ACTION_SIGN, describeOperation, issueLine, noChangesText, profileChanges, scopeLine, summaryLine, suppressionChanges, type ProfileChanges, type Sign } from './describe.js';
import { profileAction } from '../build.js';
import type { Plan, ProfileOperation, SuppressionOperation } from '../types.js';

export type StyleName = 'red' | 'green' | 'yellow' | 'cyan' | 'bold' | 'dim' | 'magenta';
/** Structurally the CLI's `Style` (src/cli/output.ts): the planner does not import the CLI. */
export type StyleFn = (name: StyleName, text: string) => string;

export interface RenderTextOptions {
  /** Colour function; wins over `color`. */
  style?: StyleFn;
  /** `true`: ANSI colours via node:util styleText; default off. */
  color?: boolean;
}

const PLAIN: StyleFn = (_name, text) => text;

const SIGN_STYLE: Record<Sign | ' ', StyleName> = { '+': 'green', '-': 'red', '~': 'yellow', '»': 'magenta', ' ': 'dim' };

/** The plan for a terminal or a log. Ends with a newline. */
export function renderText(plan: Plan, opts: RenderTextOptions = {}): string {
  let out = '';
  for (const chunk of renderTextChunks(plan, opts)) out += chunk;
  return out;
}

/** Profiles per chunk of `renderTextChunks`. */
const PROFILES_PER_CHUNK = 500;

/**
 * `renderText` in pieces, in order: concatenated they are exactly its text. Writing them one by
 * one keeps the output of a plan of a million operations from being one string in memory.
 */
export function* renderTextChunks(plan: Plan, opts: RenderTextOptions = {}): Generator<string> {
  const st = styleOf(opts);
  yield textHead(plan, plan.operations.length > 0, st);
  if (plan.operations.length === 0) return;
  let chunk = '';
  let profiles = 0;
  for (const p of profileChanges(plan)) {
    chunk += profileText(p, st);
    profiles += 1;
    if (profiles % PROFILES_PER_CHUNK === 0) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk + textTail(plan, suppressionChanges(plan), st);
}

/**
 * The pieces of `renderText` for a caller that renders each profile as soon as it is planned and
 * keeps the text, not the operations (the `plan` command, issue #17): `head`, then `profile` of
 * each profile's operations in plan order, then `tail`, concatenated, are exactly `renderText`
 * of the whole plan. `head` and `tail` need only the plan's summary, scope and issues (its
 * `operations` may have been let go); `tail` takes the suppression list's operations.
 */
export function textRenderer(opts: RenderTextOptions = {}): {
  head(plan: Plan): string;
  profile(ops: readonly ProfileOperation[]): string;
  tail(plan: Plan, list: readonly SuppressionOperation[]): string;
} {
  const st = styleOf(opts);
  return {
    head: (plan) => textHead(plan, plan.summary.operations > 0, st),
    profile: (ops) => (ops.length === 0 ? '' : profileText({ distinct_id: ops[0]!.distinct_id, action: profileAction(ops), operations: ops }, st)),
    tail: (plan, list) => (plan.summary.operations === 0 ? '' : textTail(plan, list, st)),
  };
}

function styleOf(opts: RenderTextOptions): StyleFn {
  return opts.style ?? (opts.color ? ansiStyle : PLAIN);
}

/** The summary line, scope and issues; for a plan without operations, the whole text. */
function textHead(plan: Plan, hasOperations: boolean, st: StyleFn): string {
  const out: string[] = [st('bold', summaryLine(plan.summary))];
  const scope = scopeLine(plan);
  if (scope) out.push(st('dim', scope));
  if (plan.issues.length > 0) {
    out.push('', st('red', st('bold', `Error: ${plan.issues.length} problem(s) prevent applying this plan:`)));
    for (const i of plan.issues) out.push(st('red', `  ! ${issueLine(i)}`));
  }
  if (!hasOperations) {
    const none = noChangesText(plan);
    out.push('', plan.issues.length > 0 ? 'No other changes.' : `${none.head}${none.rest}`);
  }
  return `${out.join('\n')}\n`;
}

/** One profile's block: a blank line, its heading, a line per change; each line ends in '\n'. */
function profileText(p: ProfileChanges, st: StyleFn): string {
  const sign = ACTION_SIGN[p.action];
  let text = `\n${st(SIGN_STYLE[sign], `${sign} ${st('bold', p.distinct_id)} (${p.action}, ${p.operations.length} operation${p.operations.length === 1 ? '' : 's'})`)}\n`;
  for (const op of p.operations) {
    for (const l of describeOperation(op)) text += `    ${st(SIGN_STYLE[l.sign], `${l.sign} ${l.text}`)}\n`;
  }
  return text;
}

/** The suppression list's changes and the closing count, after the profiles. */
function textTail(plan: Plan, list: readonly SuppressionOperation[], st: StyleFn): string {
  const lines: string[] = [];
  if (list.length > 0) {
    lines.push('', st('bold', `Suppression list (${list.length} operation${list.length === 1 ? '' : 's'})`));
    for (const op of list) for (const l of describeOperation(op)) lines.push(`    ${st(SIGN_STYLE[l.sign], `${l.sign} ${l.text}`)}`);
  }
  const s = plan.summary;
  lines.push('', st('bold', `${s.operations} operation(s) on ${s.create + s.update + s.merge + s.delete} profile(s).`));
  return `${lines.join('\n')}\n`;
}

/** Unconditional ANSI (the caller decided colour is wanted); codes from util.inspect.colors. */
function ansiStyle(name: StyleName, text: string): string {
  const [open, close] = inspect.colors[name] ?? [0, 0];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}
