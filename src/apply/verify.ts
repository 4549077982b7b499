/**
 * Verification after apply (PRODUCT.md, "Applying"; issue #5 part 6): Fyno applies properties
 * asynchronously and silently ignores a value whose type does not match, so a 202 proves
 * nothing. Re-read each changed profile until every written operation shows, or the bounded
 * wait ends; then name every field that did not converge, with the reason when it is known.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachLimited } from '../fyno/pool.js';
import type { DistinctId } from '../fyno/types.js';
import type { Operation } from '../plan/types.js';
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

/** Divergences of the operations written per profile; empty when everything converged. */
export async function verifyConvergence(
  written: ReadonlyMap<DistinctId, readonly Operation[]>,
  read: SnapshotReader,
  o: VerifyOptions,
): Promise<Divergence[]> {
  const now = o.now ?? Date.now;
  const started = now();
  let pending = new Map<DistinctId, readonly Operation[]>();
  for (const [id, ops] of written) {
    const expected = netEffects(ops);
    if (expected.length > 0) pending.set(id, expected);
  }
  const last = new Map<DistinctId, Divergence[]>();
  for (;;) {
    const next = new Map<DistinctId, readonly Operation[]>();
    await forEachLimited(pending, o.concurrency, async ([id, ops]) => {
          const prefs = ops.some((op) => op.type === 'preference.set');
          let snap;
          try {
            snap = await read(id, prefs);
          } catch (e) {
            next.set(id, ops);
            last.set(id, [{ distinct_id: id, op: ops[0]!.type, field: 'profile', reason: `could not re-read: ${e instanceof Error ? e.message : String(e)}` }]);
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

/**
 * What a profile's written operations leave behind, to compare with live state: a token deleted
 * and then inserted again in the same run (a token stored twice is cleaned up so) is expected
 * present, so its delete is no longer checked (issue #13 item 5: otherwise verification waits
 * out its whole timeout for a state that never comes).
 */
export function netEffects(ops: readonly Operation[]): readonly Operation[] {
  const inserted = new Map<string, Set<string>>();
  for (const op of ops) {
    if (op.type !== 'channel.set' || typeof op.value === 'string') continue;
    const set = inserted.get(op.channel) ?? new Set<string>();
    for (const t of op.value) set.add(t.token);
    inserted.set(op.channel, set);
  }
  if (inserted.size === 0) return ops;
  const out: Operation[] = [];
  for (const op of ops) {
    const again = op.type === 'channel.delete' && op.tokens !== undefined ? inserted.get(op.channel) : undefined;
    if (op.type === 'channel.delete' && op.tokens !== undefined && again !== undefined) {
      const gone = op.tokens.filter((t) => !again.has(t));
      if (gone.length > 0) out.push({ ...op, tokens: gone });
    } else {
      out.push(op);
    }
  }
  return out;
}
