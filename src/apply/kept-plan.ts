/**
 * Plan files on disk: `plan --out` and the copy an apply keeps beside its journal for `--resume`.
 * Written in pieces to a temporary file and renamed into place, so a reader never sees half a
 * plan and a plan of a million operations is never one string in memory; read back with
 * `parsePlan` (schema, format version), whose text is not kept.
 */
import { createWriteStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FynoSyncError } from '../errors.js';
import { parsePlan, serializePlanChunks } from '../plan/plan-file.js';
import type { Plan } from '../plan/types.js';

export async function writePlanFile(file: string, plan: Plan): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await pipeline(Readable.from(serializePlanChunks(plan)), createWriteStream(tmp, { mode: 0o600 }));
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
    // A user's path problem (no such directory, a directory in the way), not an internal error.
    const code = (e as NodeJS.ErrnoException).code;
    throw new FynoSyncError('config.invalid', `cannot write the plan to ${file}: ${code === 'ENOENT' ? 'no such directory' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message}`, { file });
  }
}

/** The plan in `file`; `shown` names it in errors, `hint` is appended to them. */
export async function readPlanFile(file: string, shown: string, hint = ''): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FynoSyncError('plan.invalid', `cannot read plan ${shown}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}${hint}`, { file });
  }
  try {
    return parsePlan(text, shown);
  } catch (e) {
    if (hint && e instanceof FynoSyncError) throw new FynoSyncError(e.code, `${e.message}${hint}`, e.details, { cause: e });
    throw e;
  }
}
