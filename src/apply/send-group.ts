/**
 * Sending one request group (the request(s) of a step, a property batch, a chunk of deletes)
 * until it succeeds, fails for good, or the run is interrupted. A write the API documents as
 * idempotent is retried by the client itself; here: an unknown outcome is settled by re-reading
 * (only what is not applied is sent again), a refused one (429, other retryable answers the
 * client did not retry) is sent again after `Retry-After` or a backoff.
 */
import { messageOf } from '../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFynoApiError } from '../fyno/errors.js';
import { opSubject } from '../plan/types.js';
import type { KeyedOp } from './groups.js';
import type { Ledger } from './ledger.js';
import type { Settler } from './settler.js';

/** `drifted`: Fyno refused the request because live state is not what the plan was made from. */
export type GroupResult = 'ok' | 'failed' | 'interrupted' | 'drifted';

export interface Group {
  /** `METHOD route` for events. */
  request: string;
  ops: KeyedOp[];
  /** Send the request(s) for these (remaining) operations. */
  send: (ops: KeyedOp[]) => Promise<void>;
  /** A refusal that means drift (a create of an id that exists by now): the message to record. */
  drift?: (e: unknown) => string | undefined;
}

export interface SendOptions {
  maxRounds: number;
  retryBaseMs: number;
  signal: AbortSignal | undefined;
  /** True once the run must stop scheduling (aborted, or the journal failed). */
  aborted: () => boolean;
}

export async function sendGroup(g: Group, ledger: Ledger, settler: Settler, o: SendOptions): Promise<GroupResult> {
  if (o.aborted() || !(await ledger.started(g.ops))) {
    ledger.skip(g.ops, 'interrupted');
    return 'interrupted';
  }
  const settled = new Set<string>();
  let remaining = g.ops;
  let lastMessage = 'no attempt was made';
  for (let round = 0; round < o.maxRounds; round += 1) {
    try {
      await g.send(remaining);
      await ledger.succeed(g.ops, settled);
      return 'ok';
    } catch (e) {
      if (!isFynoApiError(e)) {
        await ledger.fail(g.ops, messageOf(e));
        return 'failed';
      }
      lastMessage = e.message;
      if (e.api.aborted) {
        // Never sent (the run stopped while it waited for a slot): a resume need not settle it.
        if (round === 0 && e.api.attempts === 0) await ledger.unsent(g.ops);
        else ledger.skip(g.ops, 'interrupted');
        return 'interrupted';
      }
      if (e.api.outcomeUnknown) {
        // Stopped (Ctrl-C): no re-read is scheduled to settle it; it stays started in the
        // journal, uncertain, and the resume settles it by re-reading before anything is sent.
        if (o.aborted()) {
          ledger.skip(g.ops, 'interrupted');
          return 'interrupted';
        }
        ledger.emit({ type: 'settle', request: g.request, profiles: new Set(remaining.map((k) => opSubject(k.op))).size, reason: e.message });
        let left: KeyedOp[];
        try {
          left = await settler.unsatisfied(remaining);
        } catch (readError) {
          await ledger.fail(g.ops, `${e.message}; re-reading to settle it failed: ${messageOf(readError)}`);
          return 'failed';
        }
        const leftKeys = new Set(left.map((k) => k.key));
        for (const k of remaining) if (!leftKeys.has(k.key)) settled.add(k.key);
        remaining = left.filter((k) => !(k.op.type === 'channel.set' && Array.isArray(k.op.value) && k.op.value.length === 0));
        if (remaining.length === 0) {
          await ledger.succeed(g.ops, settled);
          return 'ok';
        }
      } else if (e.api.retryable) {
        const delayMs =
          e.api.retryAfterSeconds !== undefined ? e.api.retryAfterSeconds * 1000 : Math.floor(o.retryBaseMs * 2 ** round * (0.5 + Math.random() / 2));
        ledger.emit({ type: 'retry', request: g.request, reason: e.message, delayMs });
        try {
          await sleep(delayMs, undefined, o.signal ? { signal: o.signal } : {});
        } catch {
          // Aborted while waiting: nothing in flight for this group.
        }
      } else {
        const drift = g.drift?.(e);
        if (drift !== undefined) {
          await ledger.markDrifted(g.ops, drift);
          return 'drifted';
        }
        await ledger.fail(g.ops, e.message);
        return 'failed';
      }
      if (o.aborted()) {
        ledger.skip(g.ops, 'interrupted');
        return 'interrupted';
      }
    }
  }
  await ledger.fail(g.ops, `${lastMessage} (gave up after ${o.maxRounds} rounds)`);
  return 'failed';
}
