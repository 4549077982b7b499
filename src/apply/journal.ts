/**
 * The apply journal: JSON Lines, one record per line, each written and fsync'd before the
 * applier goes on, so a crash, a `kill -9` or Ctrl-C loses nothing that completed
 * (PRODUCT.md, "Applying"; issue #5 part 5).
 *
 * Line 1 is a header naming the plan by hash; a journal is never used with another plan.
 * Records: `run` (each start), `start` (keys about to be sent — a write-ahead intent),
 * `done` (keys completed), `failed`, `unsent` (started keys whose request was never sent: the run
 * stopped while they waited for a slot; no longer uncertain), `end`. A key started but neither done nor known failed
 * is *uncertain*: the request may or may not have reached Fyno, so resume settles it by
 * re-reading the profile rather than sending it blindly again. A torn last line (killed while
 * writing) is ignored.
 */
import { close, closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, truncateSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { FynoSyncError, messageOf } from '../errors.js';
import { stableStringifyChunks } from '../plan/normalize.js';
import { TextHash } from '../plan/text-hash.js';
import type { Plan } from '../plan/types.js';

export const JOURNAL_FILE = 'fyno-sync-apply.jsonl';
const FORMAT = 'fyno-sync-apply-journal';

/**
 * What authorised a run, recorded in the journal's header so that `apply --resume` continues the
 * same run with no flag repeated (PRODUCT.md, "Applying"; issue #13 part 4).
 */
export interface RunConfig {
  allow_delete: boolean;
  max_deletes: number;
  /** The global `--rps` the run was started with (a shard takes its share of it). */
  rps?: number;
  shard?: { index: number; count: number };
  /** The desired-state files the plan came from, by content hash: a resume says when they changed. */
  desired?: Record<string, string>;
}

/** The hint every journal refusal ends with: what to run. */
export const DISCARD_HINT =
  'if no apply is running, `fyno-sync apply --discard-journal` drops it (completed operations stay applied in Fyno; plan again to see what is left)';

export interface Journal {
  readonly path: string;
  /** What authorised the run (from the header). */
  readonly config: RunConfig | undefined;
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
  /** Writes the header (fresh) and this run's record; done by the first record otherwise. */
  begin(): void;
  /** Write-ahead: resolves once the intent is on disk, before the request may be sent. */
  started(keys: readonly string[]): Promise<void>;
  /** Resolves once the completion is on disk. */
  completed(keys: readonly string[]): Promise<void>;
  /** Keys `started` whose request was not sent after all (the run stopped first): not uncertain. */
  unsent(keys: readonly string[]): Promise<void>;
  failed(keys: readonly string[], message: string): Promise<void>;
  /** A profile's operations were re-planned after its merges. */
  replanDone(distinctId: string): Promise<void>;
  finish(result: { interrupted: boolean; failed: number }): Promise<void>;
  /** Waits for pending records, then closes the file. */
  close(): Promise<void>;
}

export type JournalRecord =
  | { t: 'header'; format: typeof FORMAT; version: 1; plan: string; config?: RunConfig }
  | { t: 'run'; n: number }
  | { t: 'start'; keys: string[] }
  | { t: 'done'; keys: string[] }
  | { t: 'unsent'; keys: string[] }
  | { t: 'failed'; keys: string[]; message: string }
  | { t: 'replanned'; id: string }
  | { t: 'end'; interrupted: boolean; failed: number };

/** `sha256:<hex>` of the plan as a stable JSON document. */
export function planHash(plan: Plan): string {
  // In pieces: the same digest as of `stableStringify(plan)`, without one string of the whole plan.
  const hash = new TextHash();
  for (const chunk of stableStringifyChunks(plan)) hash.update(chunk);
  return hash.digest();
}

export interface OpenJournalOptions {
  /** Continue the journal in `dir` (it must exist and belong to `plan`). */
  resume?: boolean;
  /** The journal as `inspectJournal` just read it: not read again. */
  loaded?: Loaded;
  /** A fresh journal: what authorised the run, kept in its header. */
  config?: RunConfig;
  /** `planHash` of the plan, when `plan` does not hold its operations (a plan read from its file). */
  hash?: string;
  /**
   * Test seam: called with each record's number (0 = header) just before it is written, so a
   * crash test can stop the process at every journal boundary.
   */
  onRecord?: (n: number, record: JournalRecord) => void;
}

/** A journal as found on disk, read without writing anything (`inspectJournal`). */
export interface Loaded {
  plan: string;
  config: RunConfig | undefined;
  runs: number;
  done: Set<string>;
  started: Set<string>;
  replanned: Set<string>;
  finished: boolean;
  /** The byte length of the complete lines, when a torn last line follows them. */
  torn: number | undefined;
}

function parseJournal(path: string): Loaded {
  const bytes = readFileSync(path);
  const text = bytes.toString('utf8');
  const lines = text.split('\n');
  // Up to the last newline: a torn last line (killed mid-write) lies beyond it.
  const complete = bytes.lastIndexOf(0x0a) + 1;
  const out: Loaded = { plan: '', config: undefined, runs: 0, done: new Set(), started: new Set(), replanned: new Set(), finished: false, torn: complete < bytes.length ? complete : undefined };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let r: JournalRecord;
    try {
      r = JSON.parse(line) as JournalRecord;
    } catch {
      // Only the last line may be torn (killed mid-write); anything else is corruption.
      if (lines.slice(i + 1).every((l) => l.trim() === '')) break;
      throw new FynoSyncError('apply.journal', `journal ${path} is corrupt at line ${i + 1}; ${DISCARD_HINT}`, { file: path, line: i + 1 });
    }
    if (i === 0) {
      if (r === null || typeof r !== 'object' || r.t !== 'header' || r.format !== FORMAT) {
        throw new FynoSyncError('apply.journal', `${path} is not a fyno-sync apply journal; ${DISCARD_HINT}`, { file: path });
      }
      out.plan = r.plan;
      out.config = r.config;
      continue;
    }
    if (r === null || typeof r !== 'object' || !('t' in r)) {
      throw new FynoSyncError('apply.journal', `journal ${path} is corrupt at line ${i + 1}; ${DISCARD_HINT}`, { file: path, line: i + 1 });
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
      case 'unsent':
        for (const k of r.keys) out.started.delete(k);
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
  if (out.plan === '') throw new FynoSyncError('apply.journal', `journal ${path} has no header; ${DISCARD_HINT}`, { file: path });
  return out;
}

/**
 * The journal in `dir` as found, without writing anything: `undefined` when there is none.
 * Throws `apply.journal` (naming what to run) when it is corrupt or not a journal.
 */
export function inspectJournal(dir: string): (Loaded & { path: string }) | undefined {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) return undefined;
  return { ...parseJournal(path), path };
}

/** Removes the journal in `dir` (and nothing else); true when there was one. */
export function discardJournal(dir: string): boolean {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) return false;
  rmSync(path, { force: true });
  return true;
}

/**
 * Open the journal for `plan` in `dir`. Fresh (default): refuses to overwrite the journal of an
 * unfinished apply (pass `resume`); resume: the journal must exist and belong to this plan.
 */
export function openJournal(dir: string, plan: Plan, opts: OpenJournalOptions = {}): Journal {
  const path = join(dir, JOURNAL_FILE);
  const hash = opts.hash ?? planHash(plan);
  let loaded: Loaded | undefined;
  if (opts.loaded || existsSync(path)) {
    const prev = opts.loaded ?? parseJournal(path);
    if (opts.resume) {
      if (prev.plan !== hash) {
        throw new FynoSyncError('apply.journal', `journal ${path} belongs to another plan (${prev.plan.slice(0, 19)}…, this plan is ${hash.slice(0, 19)}…); nothing was written; ${DISCARD_HINT}`, {
          file: path,
          journal_plan: prev.plan,
          plan: hash,
        });
      }
      loaded = prev;
    } else if (!prev.finished) {
      throw new FynoSyncError('apply.journal', unfinishedMessage(path), { file: path });
    }
  } else if (opts.resume) {
    throw new FynoSyncError('apply.journal', `no journal to resume at ${path}`, { file: path });
  }

  const run = (loaded?.runs ?? 0) + 1;
  const done = new Set(loaded?.done ?? []);
  const uncertain = new Set([...(loaded?.started ?? [])].filter((k) => !done.has(k)));
  const none = Promise.resolve();
  const seam = opts.onRecord;
  let count = 0;
  let writer: GroupCommit | undefined;
  // Nothing is written until the run's first write is due (`begin`): an apply refused before
  // that leaves the state directory as it found it (issue #13 part 2).
  const begin = (): GroupCommit => {
    if (writer) return writer;
    mkdirSync(dir, { recursive: true });
    const line = (r: JournalRecord): string => {
      seam?.(count++, r);
      return `${JSON.stringify(r)}\n`;
    };
    let fd: number;
    if (loaded) {
      // A torn last line (killed mid-write) is cut off before anything is appended, so the new
      // records do not glue onto it and turn it into corruption in the middle of the file.
      if (loaded.torn !== undefined) truncateSync(path, loaded.torn);
      fd = openSync(path, 'a');
      writeSync(fd, line({ t: 'run', n: run }));
      fsyncSync(fd);
    } else {
      // Header and run record go in place together (write, fsync, rename): a journal is either
      // absent or begins with a whole header, whatever moment a crash picks.
      const text = line({ t: 'header', format: FORMAT, version: 1, plan: hash, ...(opts.config ? { config: opts.config } : {}) }) + line({ t: 'run', n: run });
      const tmp = `${path}.${process.pid}.tmp`;
      const t = openSync(tmp, 'w');
      writeSync(t, text);
      fsyncSync(t);
      closeSync(t);
      renameSync(tmp, path);
      // The rename itself durable too (the directory entry), before any request is sent.
      const dirFd = openSync(dir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
      fd = openSync(path, 'a');
    }
    writer = new GroupCommit(fd, seam ? (r) => seam(count++, r) : undefined);
    return writer;
  };
  return {
    path,
    config: loaded ? loaded.config : opts.config,
    planHash: hash,
    run,
    done,
    uncertain,
    replanned: new Set(loaded?.replanned ?? []),
    begin: () => void begin(),
    started: (keys) => (keys.length > 0 ? begin().append({ t: 'start', keys: [...keys] }) : none),
    completed: (keys) => (keys.length > 0 ? begin().append({ t: 'done', keys: [...keys] }) : none),
    unsent: (keys) => (keys.length > 0 ? begin().append({ t: 'unsent', keys: [...keys] }) : none),
    failed: (keys, message) => (keys.length > 0 ? begin().append({ t: 'failed', keys: [...keys], message }) : none),
    replanDone: (id) => begin().append({ t: 'replanned', id }),
    finish: (r) => begin().append({ t: 'end', interrupted: r.interrupted, failed: r.failed }),
    close: () => writer?.close() ?? none,
  };
}

/** A fresh apply found the journal of one that did not finish. */
export function unfinishedMessage(path: string): string {
  return `journal ${path} records an apply that did not finish: run \`fyno-sync apply --resume\` to finish it, or pass --discard-journal to drop it (completed operations stay applied in Fyno); nothing was written`;
}

const writeAsync = promisify(write);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

/**
 * Group commit: records appended while a write+fsync is under way go out together in the next
 * one, so many profiles in flight share each fsync and the event loop never blocks on the disk.
 * Each `append` resolves only once its record is durable.
 */
class GroupCommit {
  private pending: { text: string; record: JournalRecord }[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  /** Set once the test seam stopped the writes: nothing is written after it. */
  private stopped: unknown;

  constructor(
    private readonly fd: number,
    /** Called just before each record is written (test seam); a throw stops every later write. */
    private readonly seam?: (r: JournalRecord) => void,
  ) {}

  append(r: JournalRecord): Promise<void> {
    if (this.closed) return Promise.reject(new FynoSyncError('apply.journal', 'the journal is closed'));
    if (this.stopped !== undefined) return Promise.reject(this.stopped);
    this.pending.push({ text: `${JSON.stringify(r)}\n`, record: r });
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.writing ??= this.drain();
    return p;
  }

  /** The records to write now: all pending ones, or those before the one the seam stops at. */
  private take(): { text: string; stop?: unknown } {
    const batch = this.pending.splice(0);
    let text = '';
    for (const { text: t, record } of batch) {
      try {
        this.seam?.(record);
      } catch (e) {
        this.stopped = e;
        return { text, stop: e };
      }
      text += t;
    }
    return { text };
  }

  private async drain(): Promise<void> {
    // Never complete synchronously: `append` stores this promise in `writing` after the call.
    await Promise.resolve();
    while (this.pending.length > 0) {
      const { text, stop } = this.take();
      const waiters = this.waiters.splice(0);
      try {
        if (text !== '') {
          // A short write is continued, never left as a torn line the next record glues onto.
          const buf = Buffer.from(text);
          for (let off = 0; off < buf.length; ) off += (await writeAsync(this.fd, buf, off, buf.length - off)).bytesWritten;
          await fsyncAsync(this.fd);
        }
        if (stop !== undefined) throw stop;
        for (const w of waiters) w.resolve();
      } catch (e) {
        const err = new FynoSyncError('apply.journal', `could not write the journal: ${messageOf(e)}`);
        for (const w of waiters) w.reject(err);
      }
    }
    this.writing = undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.writing) await this.writing;
    this.closed = true;
    await closeAsync(this.fd);
  }
}
