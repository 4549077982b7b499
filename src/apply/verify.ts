/**
 * Verification after apply (PRODUCT.md, "Applying"; issue #5 part 6): Fyno applies properties
 * asynchronously and silently ignores a value whose type does not match, so a 202 proves
 * nothing. Re-read each profile whose properties were written until every property operation
 * shows, or the bounded wait ends; then name every field that did not converge, with the reason
 * when it is known. What Fyno answered synchronously (a 2xx for a create, an update, a channel
 * or preference write, a merge, a delete) is not read again (issue #17: one verification read
 * per profile, none for a profile without property writes).
 */
import { messageOf } from '../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachLimited } from '../fyno/pool.js';
import type { DistinctId } from '../fyno/types.js';
import { OP_INFO, type Operation } from '../plan/types.js';
import type { SnapshotReader } from './safety.js';
import { divergenceReason, fieldOf, opSatisfied } from './settle.js';
import type { Divergence } from './types.js';

export interface VerifyOptions {
  timeoutMs: number;
  intervalMs: number;
  concurrency: number;
  signal?: AbortSignal;
  now?: () => number;
}

/** A profile's written operations, or a function that gives them (kept packed until verification reaches the profile). */
export type WrittenOps = readonly Operation[] | (() => readonly Operation[]);

/** Divergences of the operations written per profile; empty when everything converged. */
export async function verifyConvergence(
  written: ReadonlyMap<DistinctId, WrittenOps>,
  read: SnapshotReader,
  o: VerifyOptions,
): Promise<Divergence[]> {
  const now = o.now ?? Date.now;
  const started = now();
  let pending: ReadonlyMap<DistinctId, WrittenOps> = written;
  const last = new Map<DistinctId, Divergence[]>();
  for (;;) {
    const next = new Map<DistinctId, readonly Operation[]>();
    await forEachLimited(pending, o.concurrency, async ([id, given]) => {
      const ops = (typeof given === 'function' ? given() : given).filter(isAsynchronous);
      if (ops.length === 0) return;
      let snap;
      try {
        snap = await read(id, false);
      } catch (e) {
        next.set(id, ops);
        last.set(id, [{ distinct_id: id, op: ops[0]!.type, field: 'profile', reason: `could not re-read: ${messageOf(e)}` }]);
        return;
      }
      const open = ops.filter((op) => opSatisfied(op, snap) === false);
      if (open.length === 0) {
        last.delete(id);
        return;
      }
      next.set(id, open);
      last.set(
        id,
        open.map((op) => ({ distinct_id: id, op: op.type, field: fieldOf(op), reason: divergenceReason(op, snap, Math.round(now() - started)) })),
      );
    });
    pending = next;
    if (pending.size === 0 || o.signal?.aborted || now() - started + o.intervalMs > o.timeoutMs) break;
    try {
      await sleep(o.intervalMs, undefined, o.signal ? { signal: o.signal } : {});
    } catch {
      break;
    }
  }
  return [...last.values()].flat().sort((a, b) => (a.distinct_id < b.distinct_id ? -1 : a.distinct_id > b.distinct_id ? 1 : 0));
}

/** Operations Fyno applies after answering (202 + request_id): the property endpoints (`OP_INFO`). */
export function isAsynchronous(op: Operation): boolean {
  return OP_INFO[op.type].asynchronous;
}
