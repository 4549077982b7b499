/**
 * The apply journal: JSON Lines, one record per line, each written and fsync'd before the
 * applier goes on, so a crash, a `kill -9` or Ctrl-C loses nothing that completed
 * (PRODUCT.md, "Applying"; issue #5 part 5).
 *
 * Line 1 is a header naming the plan by hash; a journal is never used with another plan.
 * Records: `run` (each start), `start` (keys about to be sent — a write-ahead intent),
 * `done` (keys completed), `failed`, `end`. A key started but neither done nor known failed
 * is *uncertain*: the request may or may not have reached Fyno, so resume settles it by
 * re-reading the profile rather than sending it blindly again. A torn last line (killed while
 * writing) is ignored.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FynoSyncError } from '../errors.js';
import { stableStringify } from '../plan/normalize.js';
import type { Plan } from '../plan/types.js';

export const JOURNAL_FILE = 'fyno-sync-apply.jsonl';
const FORMAT = 'fyno-sync-apply-journal';

export interface Journal {
  readonly path: string;
  /** Hash of the plan this journal belongs to. */
  readonly planHash: string;
  /** This run's number (1 for a fresh journal); keys of re-planned operations include it. */
  readonly run: number;
  /** Keys completed by earlier runs. */
  readonly done: ReadonlySet<string>;
  /** Keys an earlier run started but did not record as done: settle by re-reading. */
  readonly uncertain: ReadonlySet<string>;
  /** Profiles whose re-plan after a merge an earlier run started. */
  readonly replanned: ReadonlySet<string>;
  started(keys: readonly string[]): void;
  completed(keys: readonly string[]): void;
  failed(keys: readonly string[], message: string): void;
  /** A profile's operations were re-planned after its merges. */
  replanDone(distinctId: string): void;
  finish(result: { interrupted: boolean; failed: number }): void;
  close(): void;
}

type JournalRecord =
  | { t: 'header'; format: typeof FORMAT; version: 1; plan: string }
  | { t: 'run'; n: number }
  | { t: 'start'; keys: string[] }
  | { t: 'done'; keys: string[] }
  | { t: 'failed'; keys: string[]; message: string }
  | { t: 'replanned'; id: string }
  | { t: 'end'; interrupted: boolean; failed: number };

/** `sha256:<hex>` of the plan as a stable JSON document. */
export function planHash(plan: Plan): string {
  return `sha256:${createHash('sha256').update(stableStringify(plan)).digest('hex')}`;
}

export interface OpenJournalOptions {
  /** Continue the journal in `dir` (it must exist and belong to `plan`). */
  resume?: boolean;
}

interface Loaded {
  plan: string;
  runs: number;
  done: Set<string>;
  started: Set<string>;
  replanned: Set<string>;
  finished: boolean;
}

function parseJournal(path: string): Loaded {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const out: Loaded = { plan: '', runs: 0, done: new Set(), started: new Set(), replanned: new Set(), finished: false };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let r: JournalRecord;
    try {
      r = JSON.parse(line) as JournalRecord;
    } catch {
      // Only the last line may be torn (killed mid-write); anything else is corruption.
      if (lines.slice(i + 1).every((l) => l.trim() === '')) break;
      throw new FynoSyncError('apply.journal', `journal ${path} is corrupt at line ${i + 1}`, { file: path, line: i + 1 });
    }
    if (i === 0) {
      if (r.t !== 'header' || r.format !== FORMAT) throw new FynoSyncError('apply.journal', `${path} is not a fyno-sync apply journal`, { file: path });
      out.plan = r.plan;
      continue;
    }
    switch (r.t) {
      case 'run':
        out.runs = Math.max(out.runs, r.n);
        out.finished = false;
        break;
      case 'start':
        for (const k of r.keys) out.started.add(k);
        break;
      case 'done':
        for (const k of r.keys) out.done.add(k);
        break;
      case 'failed':
        break;
      case 'replanned':
        out.replanned.add(r.id);
        break;
      case 'end':
        out.finished = !r.interrupted && r.failed === 0;
        break;
      default:
        break;
    }
  }
  if (out.plan === '') throw new FynoSyncError('apply.journal', `journal ${path} has no header`, { file: path });
  return out;
}

/**
 * Open the journal for `plan` in `dir`. Fresh (default): refuses to overwrite the journal of an
 * unfinished apply (pass `resume`); resume: the journal must exist and belong to this plan.
 */
export function openJournal(dir: string, plan: Plan, opts: OpenJournalOptions = {}): Journal {
  const path = join(dir, JOURNAL_FILE);
  const hash = planHash(plan);
  let loaded: Loaded | undefined;
  if (existsSync(path)) {
    const prev = parseJournal(path);
    if (opts.resume) {
      if (prev.plan !== hash) {
        throw new FynoSyncError('apply.journal', `journal ${path} belongs to another plan (${prev.plan.slice(0, 19)}…, this plan is ${hash.slice(0, 19)}…); nothing was written`, {
          file: path,
          journal_plan: prev.plan,
          plan: hash,
        });
      }
      loaded = prev;
    } else if (!prev.finished) {
      throw new FynoSyncError('apply.journal', `journal ${path} records an unfinished apply; resume it (--resume) or remove the file`, { file: path });
    }
  } else if (opts.resume) {
    throw new FynoSyncError('apply.journal', `no journal to resume at ${path}`, { file: path });
  }

  mkdirSync(dir, { recursive: true });
  const fd = openSync(path, loaded ? 'a' : 'w');
  let closed = false;
  const write = (r: JournalRecord): void => {
    if (closed) return;
    writeSync(fd, `${JSON.stringify(r)}\n`);
    fsyncSync(fd);
  };
  if (!loaded) write({ t: 'header', format: FORMAT, version: 1, plan: hash });
  const run = (loaded?.runs ?? 0) + 1;
  write({ t: 'run', n: run });
  const done = new Set(loaded?.done ?? []);
  const uncertain = new Set([...(loaded?.started ?? [])].filter((k) => !done.has(k)));
  return {
    path,
    planHash: hash,
    run,
    done,
    uncertain,
    replanned: new Set(loaded?.replanned ?? []),
    started: (keys) => keys.length > 0 && write({ t: 'start', keys: [...keys] }),
    completed: (keys) => keys.length > 0 && write({ t: 'done', keys: [...keys] }),
    failed: (keys, message) => keys.length > 0 && write({ t: 'failed', keys: [...keys], message }),
    replanDone: (id) => write({ t: 'replanned', id }),
    finish: (r) => write({ t: 'end', interrupted: r.interrupted, failed: r.failed }),
    close: () => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}
