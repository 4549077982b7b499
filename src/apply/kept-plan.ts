/**
 * Plan files on disk: `plan --out` and the copy an apply keeps beside its journal for `--resume`.
 * Written in pieces to a temporary file and renamed into place, so a reader never sees half a
 * plan and a plan of a million operations is never one string in memory; read back with
 * `parsePlan` (schema, format version), whose text is not kept.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type BigIntStats, type WriteStream } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FynoSyncError, messageOf } from '../errors.js';
import { operationLine, parsePlan, serializePlanChunks, serializePlanChunksWith } from '../plan/plan-file.js';
import { NotLineByLine, PlanLines, type PlanLinesResult } from '../plan/plan-lines.js';
import type { Operation, Plan } from '../plan/types.js';
import { planHash } from './journal.js';
import { scratchBeside, ScratchSpool } from '../scratch-spool.js';

/**
 * The operations of a plan still being read, written ahead as their plan-file lines to a scratch
 * file beside it (`plan --out`): for a 100,000-profile plan writing them is most of the work of
 * saving it, and while the live state is read the process mostly waits for answers (issue #17).
 * `writePlanFile` splices the lines in. Add operations in plan order; `discard` when no plan
 * comes of it. Lines are redacted as they are written (`operationLine`).
 */
export class OperationSpool {
  readonly #text: ScratchSpool;
  #count = 0;

  /**
   * The scratch file is `near` + `.PID.ops.tmp` (the plan file's name, by default; cut short
   * where that would be too long a file name: `scratchBeside`). `lossless`
   * for a caller that lets go of the operations (`ScratchSpool`'s: never dropped for falling behind).
   */
  constructor(near: string, o: { lossless?: boolean } = {}) {
    this.#text = new ScratchSpool(scratchBeside(near, `.${process.pid}.ops.tmp`), o);
  }

  get file(): string {
    return this.#text.file;
  }

  /**
   * Settles once the scratch file is open. For a caller that will not keep the operations
   * (createPlan's `keepOperations: false`): where the spool cannot be written the plan cannot be
   * saved either, said before anything is read (`cannot write the plan to …`).
   */
  async opened(planFile: string): Promise<void> {
    await this.#text.opened().catch((e: unknown) => {
      throw cannotWrite(planFile, e);
    });
  }

  /** Operations added so far (written, unless the spool gave up: `close` says). */
  get count(): number {
    return this.#count;
  }

  /** Why the spool stopped writing, once it has. */
  get error(): unknown {
    return this.#text.error;
  }

  add(ops: readonly Operation[]): void {
    if (this.#text.error !== undefined) {
      this.#count += ops.length;
      return;
    }
    let text = '';
    for (const op of ops) {
      text += `${this.#count > 0 ? ',\n' : ''}${operationLine(op)}`;
      this.#count += 1;
    }
    this.#text.append(text);
  }

  /** `ScratchSpool.ready`: wait on it to keep the lines waiting for the disk bounded. */
  ready(): Promise<void> | undefined {
    return this.#text.ready();
  }

  /** Everything added is on disk; false when the scratch file could not be written. */
  close(): Promise<boolean> {
    return this.#text.close();
  }

  /** The lines written, from the start (after `close` returned true). */
  lines(): AsyncGenerator<Buffer> {
    return this.#text.read();
  }

  discard(): Promise<void> {
    return this.#text.discard();
  }
}

/** Marks where a spool's lines go among the plan's chunks. */
const SPOOLED: unique symbol = Symbol('spooled operations');

/**
 * Writes `plan` to `file` (secrets redacted). With `spool` (closed or not) holding exactly the
 * plan's operations, their lines are copied from it instead of serialized again; the spool is
 * discarded either way unless `keepSpool` (the caller then discards it).
 * A plan whose operations were handed to the spool only (`dropped`: createPlan's
 * `keepOperations: false`) can be written from nowhere else: if the spool failed, so does this.
 */
export async function writePlanFile(file: string, plan: Plan, spool?: OperationSpool, o: { keepSpool?: boolean; dropped?: boolean } = {}): Promise<void> {
  try {
    const chunks = await planDocument(plan, spool, o.dropped).catch((e: unknown) => {
      throw new FynoSyncError('config.invalid', `cannot write the plan to ${file}: ${(e as Error).message}`, { file });
    });
    await writeInPlace(file, (tmp) => pipeline(Readable.from(chunks), createWriteStream(tmp, { mode: 0o600 })));
  } finally {
    if (spool && !o.keepSpool) await spool.discard();
  }
}

/**
 * The bytes of `serializePlan(plan)` in pieces, the operations' lines copied from `spool` when it
 * holds exactly the plan's operations. When they were `dropped` (`plan.operations` is empty,
 * `plan.summary.operations` counts them) the spool is where they are: throws if it does not
 * hold them all.
 */
export async function planDocument(plan: Plan, spool?: OperationSpool, dropped = false): Promise<AsyncIterable<string | Buffer>> {
  const total = dropped ? plan.summary.operations : plan.operations.length;
  const spooled = spool !== undefined && (await spool.close()) && spool.count === total;
  if (!spooled && dropped) {
    const why = spool?.error !== undefined ? messageOf(spool.error) : `its scratch file holds ${spool?.count ?? 0} of ${total} operations`;
    throw new Error(`the plan's operations were written ahead and lost: ${why}`);
  }
  async function* chunks(): AsyncGenerator<string | Buffer> {
    if (!spooled) {
      yield* serializePlanChunks(plan);
      return;
    }
    for (const piece of serializePlanChunksWith<typeof SPOOLED>(plan, [SPOOLED], total)) {
      if (piece === SPOOLED) yield* spool!.lines();
      else yield piece;
    }
  }
  return chunks();
}

/** Writes `file` through a temporary file (`write`), on disk (fsync) before it is renamed into place. */
async function writeInPlace(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await write(tmp);
    // On disk before it is in place: after a power cut the journal never points at an empty plan.
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof FynoSyncError) throw e;
    throw cannotWrite(file, e);
  }
}

/** A user's path problem (no such directory, a directory in the way), not an internal error. */
function cannotWrite(file: string, e: unknown): FynoSyncError {
  const code = (e as NodeJS.ErrnoException).code;
  return new FynoSyncError('config.invalid', `cannot write the plan to ${file}: ${code === 'ENOENT' ? 'no such directory' : code === 'EISDIR' ? 'it is a directory' : messageOf(e)}`, { file });
}

/** The plan in `file`; `shown` names it in errors, `hint` is appended to them. */
export async function readPlanFile(file: string, shown: string, hint = ''): Promise<Plan> {
  return parsePlanBytes(await readPlanBytes(file, shown, hint), shown, hint);
}

function cannotRead(e: unknown, file: string, shown: string, hint: string): FynoSyncError {
  const code = (e as NodeJS.ErrnoException).code;
  return new FynoSyncError('plan.invalid', `cannot read plan ${shown}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}${hint}`, { file });
}

async function readPlanBytes(file: string, shown: string, hint: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw cannotRead(e, file, shown, hint);
  }
}

function parsePlanBytes(bytes: Buffer, shown: string, hint: string): Plan {
  try {
    return parsePlan(bytes.toString('utf8'), shown);
  } catch (e) {
    if (hint && e instanceof FynoSyncError) throw new FynoSyncError(e.code, `${e.message}${hint}`, e.details, { cause: e });
    throw e;
  }
}

/** A plan file as `scanPlanFile` read it. */
export interface ScannedPlan extends PlanLinesResult {
  /** Read line by line (plan-lines.ts); otherwise whole, with `parsePlan`, each time it is read. */
  lineByLine: boolean;
  /** `sha256:<hex>` of the file's bytes: a copy of it is checked against it (`copyPlanFile`). */
  digest: string;
  /** The copy of the bytes read written as they were read (`ScanOptions.copyTo`), unless writing it failed. */
  copy?: ScanCopy;
}

/** A copy `scanPlanFile` wrote of the bytes it read, and what the file was when it was opened. */
export interface ScanCopy {
  /** The temporary file holding exactly the bytes checked. */
  file: string;
  /** The plan file's identity, size and modification time when it was read. */
  seen: FileSeen;
}

type FileSeen = Pick<BigIntStats, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>;

export interface ScanOptions {
  /**
   * Also write the bytes read to this (temporary) file, as they are read: the copy an apply keeps
   * is then what was checked without reading the file a second time (`keepScannedCopy`).
   */
  copyTo?: string;
}

/** What `scanPlanFile` hands each operation to; `reset` when it starts over (the file is read whole after all). */
export interface PlanVisitor {
  op(op: Operation, index: number): void;
  reset(): void;
  /**
   * The head of a plan read line by line, as soon as it is read and before its operations (not
   * yet checked against the schema): a refusal that needs only the head (another target) throws
   * here instead of after a 300 MB file was read to its end.
   */
  head?(head: Readonly<Record<string, unknown>>): void;
}

/**
 * Lines of `file`, each once, with the sha256 of its bytes when `digest` is given, and the bytes
 * written to `copy` as they are read (with the file's stat when it was opened).
 */
async function* fileLines(file: string, digest?: ReturnType<typeof createHash>, copy?: CopyWriter): AsyncGenerator<string> {
  const fh = await open(file, 'r');
  // Before the stream: a 'data' listener starts it flowing, and nothing may flow before readline listens.
  if (copy) {
    try {
      copy.seen = seenOf(await fh.stat({ bigint: true }));
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }
  const input = fh.createReadStream();
  if (digest) input.on('data', (b) => digest.update(b as Buffer));
  if (copy) input.on('data', (b) => copy.write(b as Buffer));
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of rl) {
      yield line;
      if (copy?.behind()) await copy.drained();
    }
  } finally {
    rl.close();
    input.destroy();
    await fh.close().catch(() => undefined);
  }
}

function seenOf(st: BigIntStats): FileSeen {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/**
 * The copy `scanPlanFile` writes as it reads. A failure to write it is kept, not thrown: the run
 * then copies the file as before (`copyPlanFile`), which reports the problem where it always did.
 */
class CopyWriter {
  seen: FileSeen | undefined;
  #out: WriteStream;
  #error: unknown;

  constructor(readonly file: string) {
    this.#out = this.#open();
  }

  #open(): WriteStream {
    const out = createWriteStream(this.file, { mode: 0o600 });
    out.on('error', (e) => (this.#error ??= e));
    return out;
  }

  write(b: Buffer): void {
    if (this.#error === undefined) this.#out.write(b);
  }

  /** Whether the disk is behind the reading (the reader then waits: the copy is not held in memory). */
  behind(): boolean {
    return this.#error === undefined && this.#out.writableNeedDrain;
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.#out.off('drain', done).off('error', done);
        resolve();
      };
      this.#out.on('drain', done).on('error', done);
    });
  }

  /** Starts over with `bytes` as the whole copy (the file read whole after all). */
  async replace(bytes: Buffer, seen: FileSeen): Promise<void> {
    await this.#close();
    this.#error = undefined;
    this.seen = seen;
    this.#out = this.#open();
    this.write(bytes);
  }

  /** The copy, complete on disk (not yet synced), or undefined when it could not be written. */
  async end(): Promise<ScanCopy | undefined> {
    await this.#close();
    return this.#error === undefined && this.seen ? { file: this.file, seen: this.seen } : undefined;
  }

  #close(): Promise<void> {
    const out = this.#out;
    if (out.closed) return Promise.resolve();
    return new Promise((resolve) => {
      out.once('close', () => resolve());
      out.end();
    });
  }
}

/**
 * Reads a saved plan once without keeping its operations (issue #17, "Memory"): each goes to
 * `visit.op` in order, and what is returned is the plan without them, its `planHash` and their
 * count. The plan is checked exactly as `readPlanFile` checks it and refused with the same errors:
 * a file that is not in the layout `plan --out` writes (or not valid) is read whole with
 * `parsePlan` instead, after `visit.reset()`.
 */
export async function scanPlanFile(file: string, shown: string, hint: string, visit: PlanVisitor, o: ScanOptions = {}): Promise<ScannedPlan> {
  const copy = o.copyTo !== undefined ? new CopyWriter(o.copyTo) : undefined;
  try {
    const scanned = await scanLines(file, shown, hint, visit, copy);
    const kept = await copy?.end();
    return kept ? { ...scanned, copy: kept } : scanned;
  } catch (e) {
    if (copy) {
      await copy.end();
      await rm(copy.file, { force: true }).catch(() => undefined);
    }
    throw e;
  }
}

async function scanLines(file: string, shown: string, hint: string, visit: PlanVisitor, copy: CopyWriter | undefined): Promise<ScannedPlan> {
  const digest = createHash('sha256');
  try {
    const lines = new PlanLines({ check: true });
    let i = 0;
    let headSeen = false;
    for await (const line of fileLines(file, digest, copy)) {
      const op = lines.push(line);
      if (!headSeen && lines.headRead !== undefined) {
        headSeen = true;
        visit.head?.(lines.headRead);
      }
      if (op) visit.op(op, i++);
    }
    return { ...lines.end(), lineByLine: true, digest: `sha256:${digest.digest('hex')}` };
  } catch (e) {
    if (!(e instanceof NotLineByLine)) {
      if (e instanceof FynoSyncError) throw e;
      throw cannotRead(e, file, shown, hint);
    }
  }
  visit.reset();
  const { bytes, seen } = await readWhole(file, shown, hint);
  const plan = parsePlanBytes(bytes, shown, hint);
  await copy?.replace(bytes, seen);
  plan.operations.forEach((op, i) => visit.op(op, i));
  const { operations, profiles: _profiles, ...head } = plan;
  return {
    head: { ...head, operations: [] },
    hash: planHash(plan),
    total: operations.length,
    lineByLine: false,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
  };
}

/** The bytes of `file` and its stat when they were read. */
async function readWhole(file: string, shown: string, hint: string): Promise<{ bytes: Buffer; seen: FileSeen }> {
  try {
    const fh = await open(file, 'r');
    try {
      const seen = seenOf(await fh.stat({ bigint: true }));
      return { bytes: await fh.readFile(), seen };
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw cannotRead(e, file, shown, hint);
  }
}

/** The operations of a plan file `scanPlanFile` read, in order, read anew at each call. */
export async function* readPlanOperations(file: string, scanned: Pick<ScannedPlan, 'lineByLine'>, shown: string): AsyncGenerator<Operation> {
  if (!scanned.lineByLine) {
    yield* (await readPlanFile(file, shown)).operations;
    return;
  }
  const lines = new PlanLines({ check: false });
  for await (const line of fileLines(file)) {
    const op = lines.push(line);
    if (op) yield op;
  }
}

/**
 * Puts the copy `scanPlanFile` wrote of `from` in place at `to` (fsync, rename): it holds exactly
 * the bytes that were checked. A file changed since it was opened for the check (another size,
 * inode or modification time) is refused as `copyPlanFile` refuses it, the copy removed.
 */
export async function keepScannedCopy(from: string, copy: ScanCopy, to: string, shown: string): Promise<void> {
  try {
    const now = await stat(from, { bigint: true }).catch(() => undefined);
    const seen = copy.seen;
    if (!now || now.dev !== seen.dev || now.ino !== seen.ino || now.size !== seen.size || now.mtimeNs !== seen.mtimeNs || now.ctimeNs !== seen.ctimeNs) {
      throw changedWhileChecked(from, shown);
    }
    await writeInPlace(to, async (tmp) => rename(copy.file, tmp));
  } finally {
    await rm(copy.file, { force: true }).catch(() => undefined);
  }
}

/** `from` is no longer the file that was checked: refused, nothing written. */
function changedWhileChecked(from: string, shown: string): FynoSyncError {
  return new FynoSyncError('plan.invalid', `plan ${shown} changed while it was being checked; nothing was written: apply it again`, { file: from });
}

/**
 * Copies a plan file into place (temporary file, fsync, rename) and checks that its bytes are
 * still those `scanPlanFile` read (`digest`): what is kept, and applied from, is what was checked.
 */
export async function copyPlanFile(from: string, to: string, digest: string, shown: string): Promise<void> {
  await writeInPlace(to, async (tmp) => {
    const hash = createHash('sha256');
    const fh = await open(from, 'r');
    try {
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(fh.createReadStream({ autoClose: false }), tap, createWriteStream(tmp, { mode: 0o600 }));
    } finally {
      await fh.close();
    }
    if (`sha256:${hash.digest('hex')}` !== digest) {
      throw changedWhileChecked(from, shown);
    }
  });
}
