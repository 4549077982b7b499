/**
 * Desired state: YAML files → a validated, normalised `DesiredState` (issue #3, PRODUCT.md
 * "Desired state"). Every problem of a run is collected and returned as values; nothing is
 * thrown for bad input and nothing is printed.
 */
import { checkAcrossFiles, type ProfileEntry } from './across-files.js';
import { DEFAULT_MAX_FILE_BYTES, readInput, resolveInputs, type InputFile } from './files.js';
import { loadFilesInParallel } from './load-parallel.js';
import { parseFast, type FastParsed } from './fast-parse.js';
import { documentSource, fastSource, loadFile, type FileResult } from './load-file.js';
import { parseYaml } from './parse.js';
import type { Prefilter } from './prefilter.js';
import { mergeSuppressions } from './suppressions.js';
import type { DesiredProfile, DesiredState, ValidationIssue } from './types.js';

export interface LoadOptions {
  /** Where `${VAR}` values come from. */
  env: Record<string, string | undefined>;
  /** Relative paths and globs resolve here; messages name files relative to it. */
  cwd: string;
  /** Files larger than this are refused unread (default 20 MB). */
  maxFileBytes?: number;
  /**
   * Worker threads that read files side by side (load-parallel.ts); 0 reads every file in this
   * thread. Default: one per core, when there are several files and enough to read.
   */
  workers?: number;
  /** The worker's script, for tests that run from source (default: load-worker.js beside this module). */
  workerScript?: URL;
  /**
   * Only the profiles this keeps are returned (all are validated): for a caller that needs a few
   * of 100,000 (apply of a saved plan), the others are let go as they are read (issue #17).
   */
  keep?: (p: DesiredProfile) => boolean;
  /**
   * Profiles let go before `keep` sees them, where they are built (prefilter.ts): on a worker
   * thread, before they are sent to this one. Their ids are in `LoadResult.letGo`.
   */
  prefilter?: Prefilter;
  /**
   * Stops the reading: worker threads are ended and no file is started anew; what is returned is
   * then incomplete, for a caller that no longer needs it (apply of a plan refused meanwhile).
   */
  signal?: AbortSignal;
}

export interface LoadResult {
  /** Complete only when `issues` is empty: never plan or apply a state that has issues. */
  state: DesiredState;
  /** Sorted by file (in the order read), then line and column. */
  issues: ValidationIssue[];
  /** How many of the files worker threads read (load-parallel.ts). */
  filesOnWorkers: number;
  /** With `prefilter`: the ids of the profiles it let go. */
  letGo?: Set<string>;
}

/**
 * Reads files, directories (every *.yaml / *.yml below) and globs, and validates everything
 * before any request: YAML syntax, the JSON Schema, `${VAR}`s, Fyno value types, phones, emails,
 * timezones, dates, and across files duplicate ids and conflicting merges.
 */
export async function loadDesired(paths: readonly string[], opts: LoadOptions): Promise<LoadResult> {
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const { files, issues } = await resolveInputs(paths, opts.cwd);
  const profiles: DesiredProfile[] = [];
  const entries: ProfileEntry[] = [];
  const { outcomes, onWorkers, letGo } = await loadFilesInParallel(files, {
    maxBytes,
    env: opts.env,
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.workerScript ? { script: opts.workerScript } : {}),
    ...(opts.keep ? { keep: opts.keep } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.prefilter ? { prefilter: opts.prefilter } : {}),
  });
  for (const r of outcomes) {
    for (const i of r.issues) issues.push(i);
    if (!('profiles' in r)) continue;
    for (const p of r.profiles) profiles.push(p);
    for (const e of r.entries) entries.push(e);
  }
  issues.push(...checkAcrossFiles(entries));
  const merged = mergeSuppressions(outcomes.map((r) => ('profiles' in r ? r.suppressions : undefined)));
  issues.push(...merged.issues);
  const order = new Map(files.map((f, i) => [f.display, i] as const));
  const rank = (i: ValidationIssue) => order.get(i.file) ?? -1;
  issues.sort((a, b) => rank(a) - rank(b) || a.line - b.line || a.column - b.column);
  const state: DesiredState = { profiles, files: files.map((f) => f.display), ...(merged.suppressions ? { suppressions: merged.suppressions } : {}) };
  return { state, issues, filesOnWorkers: onWorkers, ...(letGo ? { letGo } : {}) };
}

/** What one file gave: its profiles and issues, or only issues. */
export type FileOutcome = (FileResult | { issues: ValidationIssue[] }) & {
  /** Set when profiles already handed to `onPart` are withdrawn: this outcome replaces them. */
  restart?: true;
};

/**
 * One file: read, parsed, validated on its own (the cross-file checks come after). With
 * `onPart`, the fast path hands over each clean chunk's profiles as soon as they are built
 * instead of keeping them for the outcome.
 */
export async function loadInput(f: InputFile, maxBytes: number, env: LoadOptions['env'], onPart?: (part: FileResult) => void): Promise<FileOutcome> {
  const read = await readInput(f, maxBytes);
  if ('issue' in read) return { issues: [read.issue] };
  return loadText(f.display, read.text, env, onPart);
}

/** A `suppressions` key anywhere (block or flow, quoted or not): conservative, never misses the top-level one. */
const MAY_HOLD_LIST = /(?:^|[{,\s])["']?suppressions["']?\s*:/m;

/**
 * A clean file takes the fast path (fast-parse.ts); a file with any problem, or one the fast
 * path declines, is read (again) by the full parser, which names every error's position.
 */
function loadText(display: string, text: string, env: LoadOptions['env'], onPart?: (part: FileResult) => void): FileOutcome {
  // A long list is loaded chunk by chunk as it is parsed, so that each chunk's plain data and
  // positions are garbage before the next: only the built profiles stay.
  const acc: FileResult = { profiles: [], entries: [], issues: [] };
  let clean = true;
  let handedOver = false;
  const take = (part: FastParsed): void => {
    if (!clean) return;
    const src = fastSource(display, part);
    const r = loadFile(src, env);
    if (r.issues.length > 0 || src.missed()) {
      clean = false;
    } else if (onPart) {
      onPart(r);
      handedOver = true;
    } else {
      for (const p of r.profiles) acc.profiles.push(p);
      for (const e of r.entries) acc.entries.push(e);
    }
  };
  // The fast path hands a long profiles list over chunk by chunk, each with the rest of the
  // file: a file that may hold the suppression list (one per file, small) takes the full parser.
  const fast = MAY_HOLD_LIST.test(text) ? undefined : parseFast(text, { onChunk: take });
  if (fast) {
    if (!fast.chunked) take(fast);
    if (clean) return acc;
  }
  const parsed = parseYaml(display, text);
  const full: FileOutcome = 'issues' in parsed ? { issues: parsed.issues } : loadFile(documentSource(parsed.file), env);
  if (handedOver) full.restart = true;
  return full;
}

/** One line: `file:line:col: profile <id>: <field>: <message>` (parts that are unknown left out). */
export function formatIssue(i: ValidationIssue): string {
  const parts = [i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file];
  if (i.distinct_id !== undefined) parts.push(`profile ${i.distinct_id}`);
  if (i.field) parts.push(i.field);
  parts.push(i.message);
  return oneLine(parts.join(': '));
}

function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}
