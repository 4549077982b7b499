/**
 * Reading many files on every core (issue #6, "Scale"): worker threads each read, parse and
 * validate whole files (load.ts `loadInput`, the same code as in this thread) and post back plain
 * results, which are put back in file order. Small inputs, one file, a single core, or running
 * from source (no compiled worker script) stay in this thread; so does any file whose worker
 * died (out of memory, say): it is read again here, so a result is never lost.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InputFile } from './files.js';
import type { FileResult } from './load-file.js';
import { loadInput, type FileOutcome } from './load.js';
import { sharedString } from './build.js';
import { prefiltered, type Prefilter } from './prefilter.js';
import type { DesiredProfile } from './types.js';

export interface ParallelOptions {
  maxBytes: number;
  env: Record<string, string | undefined>;
  /** Worker threads (0: none). Default: one per core when `files` are worth it. */
  workers?: number;
  script?: URL;
  /** Profiles it does not keep are dropped as soon as they arrive (load.ts `LoadOptions.keep`). */
  keep?: (p: DesiredProfile) => boolean;
  /** Ends the workers and starts no other file (load.ts `LoadOptions.signal`). */
  signal?: AbortSignal;
  /** Applied where the profiles are built, before `keep` (load.ts `LoadOptions.prefilter`). */
  prefilter?: Prefilter;
}

/** Below this many bytes in all, starting workers costs more than it saves. */
const MIN_PARALLEL_BYTES = 4 * 1024 * 1024;
/** A worker's heap: enough for the largest file the full parser reads, low enough to keep peaks down. */
const WORKER_HEAP_MB = 512;

const DEFAULT_SCRIPT = new URL('./load-worker.js', import.meta.url);

/** What a worker is started with. */
export interface WorkerData {
  env: Record<string, string | undefined>;
  prefilter: Prefilter | undefined;
}

/** A request to a worker and its answer. */
export interface WorkerTask {
  index: number;
  file: InputFile;
  maxBytes: number;
}
/**
 * A worker's answers for one file: any number of parts (a `FileResult` of a clean chunk, as JSON),
 * then the `FileOutcome` (as JSON), which ends the file and, with `restart`, withdraws its parts.
 * Parts keep what a worker holds small: a chunk at a time, not a whole file's profiles.
 */
export interface WorkerAnswer {
  index: number;
  json: string;
  done: boolean;
}

/** Each file's outcome, in file order, and how many of them a worker read. */
export async function loadFilesInParallel(files: readonly InputFile[], o: ParallelOptions): Promise<{ outcomes: FileOutcome[]; onWorkers: number; letGo?: Set<string> }> {
  const count = Math.min(o.workers ?? (await defaultWorkers(files)), files.length);
  const script = o.script ?? DEFAULT_SCRIPT;
  const letGo = o.prefilter ? new Set<string>() : undefined;
  const kept = (r: FileOutcome): FileOutcome => {
    if ('profiles' in r) {
      if (letGo) prefiltered(r, o.prefilter, letGo);
      if (o.keep) r.profiles = r.profiles.filter(o.keep);
    }
    return r;
  };
  if (count < 2 || !existsSync(fileURLToPath(script))) {
    const outcomes: FileOutcome[] = [];
    for (const f of files) {
      if (o.signal?.aborted) break;
      outcomes.push(kept(await loadInput(f, o.maxBytes, o.env)));
    }
    return { outcomes, onWorkers: 0, ...(letGo ? { letGo } : {}) };
  }
  // A worker lets go of what the prefilter drops before sending; the ids come with each answer.
  const received = (json: string): FileOutcome => {
    const r = JSON.parse(json) as FileOutcome & { letGo?: string[] };
    if (r.letGo) for (const id of r.letGo) letGo?.add(id);
    delete r.letGo;
    if (o.keep && 'profiles' in r) r.profiles = r.profiles.filter(o.keep);
    return r;
  };
  const results: (FileOutcome | undefined)[] = new Array(files.length);
  const parts: FileResult[][] = files.map(() => []);
  let next = 0;
  let onWorkers = 0;
  const run = (): Promise<void> =>
    new Promise((resolve) => {
      const worker = new Worker(script, { workerData: { env: o.env, prefilter: o.prefilter } satisfies WorkerData, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
      let current = -1;
      const stop = (): void => void worker.terminate();
      o.signal?.addEventListener('abort', stop, { once: true });
      worker.on('exit', () => o.signal?.removeEventListener('abort', stop));
      const give = () => {
        if (next >= files.length || o.signal?.aborted) {
          current = -1;
          void worker.terminate();
          return;
        }
        current = next++;
        worker.postMessage({ index: current, file: files[current]!, maxBytes: o.maxBytes } satisfies WorkerTask);
      };
      worker.on('message', (m: WorkerAnswer) => {
        const r = received(m.json);
        if ('profiles' in r) for (const p of r.profiles) shareStrings(p);
        if (!m.done) {
          parts[m.index]!.push(r as FileResult);
          return;
        }
        results[m.index] = r.restart ? r : joinParts(parts[m.index]!, r);
        parts[m.index] = [];
        onWorkers++;
        give();
      });
      // A dead worker's file is read again in this thread, after the others are done.
      worker.on('error', () => undefined);
      worker.on('exit', () => resolve());
      give();
    });
  await Promise.all(Array.from({ length: count }, run));
  const ids = letGo ? { letGo } : {};
  if (o.signal?.aborted) return { outcomes: results.filter((r): r is FileOutcome => r !== undefined), onWorkers, ...ids };
  for (let i = 0; i < files.length; i++) results[i] ??= kept(await loadInput(files[i]!, o.maxBytes, o.env));
  for (const r of results) delete r!.restart;
  return { outcomes: results as FileOutcome[], onWorkers, ...ids };
}

/** A file's parts (in order) and its closing outcome as one outcome. */
function joinParts(parts: FileResult[], last: FileOutcome): FileOutcome {
  if (parts.length === 0) return last;
  const out: FileResult = { profiles: [], entries: [], issues: [...last.issues] };
  for (const p of [...parts, last]) {
    if (!('profiles' in p)) continue;
    for (const x of p.profiles) out.profiles.push(x);
    for (const x of p.entries) out.entries.push(x);
  }
  return out;
}

/**
 * A message arrives with its own copy of every string: `refs` paths, `op: 'set'`, `opted-in`,
 * ... once per profile. The strings that repeat across profiles are made one again.
 */
function shareStrings(p: DesiredProfile): void {
  p.refs.keys = p.refs.keys.map(sharedString);
  p.at.file = p.refs.file = sharedString(p.at.file);
  p.sensitive = p.sensitive.map(sharedString);
  if (p.properties) {
    for (const v of Object.values(p.properties)) {
      v.op = sharedString(v.op) as typeof v.op;
      // Short values (a country, a plan, a stage) repeat too; long ones mostly do not.
      if (v.op === 'unset') continue;
      if (typeof v.value === 'string' && v.value.length <= 32) v.value = sharedString(v.value);
      else if (Array.isArray(v.value)) v.value = v.value.map((x) => (typeof x === 'string' && x.length <= 32 ? sharedString(x) : x)) as typeof v.value;
    }
  }
  if (p.preferences) {
    for (const topic of Object.values(p.preferences)) {
      for (const [c, status] of Object.entries(topic)) (topic as Record<string, string>)[c] = sharedString(status);
    }
  }
  if (p.timezone !== undefined) p.timezone = sharedString(p.timezone);
}

async function defaultWorkers(files: readonly InputFile[]): Promise<number> {
  const cores = availableParallelism();
  if (cores < 2 || files.length < 2) return 0;
  let bytes = 0;
  for (const f of files) {
    bytes += (await stat(f.abs).catch(() => ({ size: 0 }))).size;
    if (bytes >= MIN_PARALLEL_BYTES) return cores;
  }
  return 0;
}
