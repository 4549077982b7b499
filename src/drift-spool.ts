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

/** A spool in a new temporary file (removed at once where the system allows: it lives as long as its descriptor). */
export function openDriftSpool(): DriftSpool {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fyno-sync-drift-'));
  const file = path.join(dir, 'drift.jsonl');
  const fd = openSync(file, 'w+', 0o600);
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
  let end = 0;
  let closed = false;
  // One getter for every drift of the spool, each drift holding only where it is in the file
  // (objects made alike share their shape, getter included: ~60 bytes a profile, not a closure).
  function patch(this: Spooled): JsonPatchOperation[] {
    if (closed) throw new Error('the drift spool is closed');
    const { [AT]: at, [LENGTH]: length } = this;
    const buf = Buffer.allocUnsafe(length);
    for (let off = 0; off < length; ) {
      const n = readSync(fd, buf, off, length - off, at + off);
      if (n === 0) throw new Error('the drift spool is truncated');
      off += n;
    }
    return JSON.parse(buf.toString('utf8')) as JsonPatchOperation[];
  }
  return {
    put(drift) {
      const bytes = Buffer.from(JSON.stringify(drift.patch));
      const at = end;
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off, at + off);
      end += bytes.length;
      return Object.defineProperties({}, { [AT]: { value: at }, [LENGTH]: { value: bytes.length }, patch: { get: patch, enumerable: true } }) as Spooled;
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
      remove();
    },
  };
}
