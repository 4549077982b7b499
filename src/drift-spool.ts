/**
 * The JSON Patch of each planned profile (`plan.profiles`) kept on disk instead of in memory
 * (issue #17, "Memory": `plan` keeps only the operations). The `plan` command writes the drift
 * out once or twice (the plan file, `--json`) after planning a whole desired state; for 100,000
 * created profiles it is ~85 MB of text that nothing needs in between. Each drift is appended to
 * an unlinked temporary file as it is made, and reads as a plain `ProfileDrift` whose `patch` is
 * read back from that file at each read.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FynoSyncError, messageOf } from './errors.js';
import { canonicalJson, DRIFT_TEXT } from './plan/plan-file.js';
import type { JsonPatchOperation, ProfileDrift } from './plan/types.js';

/** Where a spooled drift is: non-enumerable, so that it serializes and compares as `{ patch }` alone. */
const AT = Symbol('at');
const LENGTH = Symbol('length');
type Spooled = ProfileDrift & { [AT]: number; [LENGTH]: number };

export interface DriftSpool {
  /** `drift`, kept in the spool: reads as the same `ProfileDrift`. */
  put(drift: ProfileDrift): ProfileDrift;
  /** Removes the file; a drift of this spool cannot be read afterwards. */
  close(): void;
}

/** Text gathered before it is written. */
const FLUSH_AT = 1 << 16;

/**
 * A spool in a new temporary file (removed at once where the system allows: it lives as long as
 * its descriptor). Each drift is kept as its plan-file text (`canonicalJson`), which the plan file
 * copies as is (`DRIFT_TEXT`); written in blocks, not one write per profile.
 */
export function openDriftSpool(): DriftSpool {
  let dir: string | undefined;
  let file: string;
  let fd: number;
  try {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fyno-sync-drift-'));
    file = path.join(dir, 'drift.jsonl');
    fd = openSync(file, 'w+', 0o600);
  } catch (e) {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    throw tmpdirError(e);
  }
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    try {
      unlinkSync(file);
      rmSync(dir, { recursive: true, force: true });
      removed = true;
    } catch {
      // Not while it is open on this system: at close.
    }
  };
  remove();
  /** Bytes on disk, then the text not yet written (its length in bytes). */
  let written = 0;
  let pending: string[] = [];
  let pendingBytes = 0;
  let closed = false;
  const flush = (): void => {
    if (pending.length === 0) return;
    const bytes = Buffer.from(pending.join(''));
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off, written + off);
    } catch (e) {
      throw tmpdirError(e);
    }
    written += bytes.length;
    pending = [];
    pendingBytes = 0;
  };
  function text(this: Spooled): string {
    if (closed) throw new Error('the drift spool is closed');
    const { [AT]: at, [LENGTH]: length } = this;
    if (at + length > written) flush();
    const buf = Buffer.allocUnsafe(length);
    for (let off = 0; off < length; ) {
      const n = readSync(fd, buf, off, length - off, at + off);
      if (n === 0) throw new Error('the drift spool is truncated');
      off += n;
    }
    return buf.toString('utf8');
  }
  // One getter for every drift of the spool, each drift holding only where it is in the file
  // (objects made alike share their shape, getter included: ~60 bytes a profile, not a closure).
  function patch(this: Spooled): JsonPatchOperation[] {
    return (JSON.parse(text.call(this)) as ProfileDrift).patch;
  }
  return {
    put(drift) {
      const line = canonicalJson({ patch: drift.patch });
      const length = Buffer.byteLength(line);
      const at = written + pendingBytes;
      pending.push(line);
      pendingBytes += length;
      if (pendingBytes >= FLUSH_AT) flush();
      return Object.defineProperties({}, { [AT]: { value: at }, [LENGTH]: { value: length }, [DRIFT_TEXT]: { value: text }, patch: { get: patch, enumerable: true } }) as Spooled;
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
      remove();
    },
  };
}

/**
 * The temporary directory (TMPDIR) cannot hold the plan's scratch files: a user's setup problem,
 * said in one line (not an internal error, nor a failed read of live state).
 */
export function tmpdirError(e: unknown): FynoSyncError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOSPC' ? 'no space left on the device' : messageOf(e);
  return new FynoSyncError('config.invalid', `cannot keep the plan in temporary files in ${os.tmpdir()} (${why}); set TMPDIR to a writable directory with space`);
}
