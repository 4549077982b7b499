/**
 * Human output of `plan` (PRODUCT.md, "Commands"): the summary line first, then problems that
 * block the plan, then per profile only what changes, before → after. Returns a string; colour
 * only through the style the CLI hands over (off unless given).
 */
import { inspect } from 'node:util';
import { ACTION_SIGN, describeOperation, issueLine, profileChanges, scopeLine, summaryLine, suppressionChanges, type Sign } from './describe.js';
import type { Plan } from '../types.js';

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
  const st: StyleFn = opts.style ?? (opts.color ? ansiStyle : PLAIN);
  const out: string[] = [st('bold', summaryLine(plan.summary))];
  const scope = scopeLine(plan);
  if (scope) out.push(st('dim', scope));
  if (plan.issues.length > 0) {
    out.push('', st('red', st('bold', `Error: ${plan.issues.length} problem(s) prevent applying this plan:`)));
    for (const i of plan.issues) out.push(st('red', `  ! ${issueLine(i)}`));
  }
  if (plan.operations.length === 0) {
    out.push('', plan.issues.length > 0 ? 'No other changes.' : 'No changes. Live state matches the desired state.');
    yield `${out.join('\n')}\n`;
    return;
  }
  // Lines are joined by '\n' and the text ends with one: each chunk ends with its last line's '\n'.
  yield `${out.join('\n')}\n`;
  let lines: string[] = [];
  let profiles = 0;
  for (const p of profileChanges(plan)) {
    const sign = ACTION_SIGN[p.action];
    lines.push('', st(SIGN_STYLE[sign], `${sign} ${st('bold', p.distinct_id)} (${p.action}, ${p.operations.length} operation${p.operations.length === 1 ? '' : 's'})`));
    for (const op of p.operations) {
      for (const l of describeOperation(op)) lines.push(`    ${st(SIGN_STYLE[l.sign], `${l.sign} ${l.text}`)}`);
    }
    profiles += 1;
    if (profiles % PROFILES_PER_CHUNK === 0) {
      yield `${lines.join('\n')}\n`;
      lines = [];
    }
  }
  const list = suppressionChanges(plan);
  if (list.length > 0) {
    lines.push('', st('bold', `Suppression list (${list.length} operation${list.length === 1 ? '' : 's'})`));
    for (const op of list) for (const l of describeOperation(op)) lines.push(`    ${st(SIGN_STYLE[l.sign], `${l.sign} ${l.text}`)}`);
  }
  lines.push('', st('bold', `${plan.summary.operations} operation(s) on ${plan.summary.create + plan.summary.update + plan.summary.merge + plan.summary.delete} profile(s).`));
  yield `${lines.join('\n')}\n`;
}

/** Unconditional ANSI (the caller decided colour is wanted); codes from util.inspect.colors. */
function ansiStyle(name: StyleName, text: string): string {
  const [open, close] = inspect.colors[name] ?? [0, 0];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}
