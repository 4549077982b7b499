/**
 * Plan files on disk: `plan --out` and the copy an apply keeps beside its journal for `--resume`.
 * Written in pieces to a temporary file and renamed into place, so a reader never sees half a
 * plan and a plan of a million operations is never one string in memory; read back with
 * `parsePlan` (schema, format version), whose text is not kept.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
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

/** Lines of `file`, each once, with the sha256 of its bytes when `digest` is given. */
async function* fileLines(file: string, digest?: ReturnType<typeof createHash>): AsyncGenerator<string> {
  const fh = await open(file, 'r');
  const input = fh.createReadStream();
  if (digest) input.on('data', (b) => digest.update(b as Buffer));
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    input.destroy();
    await fh.close().catch(() => undefined);
  }
}

/**
 * Reads a saved plan once without keeping its operations (issue #17, "Memory"): each goes to
 * `visit.op` in order, and what is returned is the plan without them, its `planHash` and their
 * count. The plan is checked exactly as `readPlanFile` checks it and refused with the same errors:
 * a file that is not in the layout `plan --out` writes (or not valid) is read whole with
 * `parsePlan` instead, after `visit.reset()`.
 */
export async function scanPlanFile(file: string, shown: string, hint: string, visit: PlanVisitor): Promise<ScannedPlan> {
  const digest = createHash('sha256');
  try {
    const lines = new PlanLines({ check: true });
    let i = 0;
    let headSeen = false;
    for await (const line of fileLines(file, digest)) {
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
  const bytes = await readPlanBytes(file, shown, hint);
  const plan = parsePlanBytes(bytes, shown, hint);
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
      throw new FynoSyncError('plan.invalid', `plan ${shown} changed while it was being checked; nothing was written: apply it again`, { file: from });
    }
  });
}
