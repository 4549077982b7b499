/**
 * Settling unknown outcomes (PRODUCT.md, "Applying": a write whose result is unknown is never
 * blindly retried — re-read, re-diff, then act): after a timeout, a lost response or a 5xx, and
 * on resume for the operations an earlier run started but did not record as done.
 */
import { messageOf } from '../errors.js';
import type { DistinctId, FynoApi, Suppression, Token } from '../fyno/types.js';
import * as wire from '../fyno/wire.js';
import pLimit from 'p-limit';
import { isSuppressionOp, profileIdOf, type ActualSnapshot } from '../plan/types.js';
import { routeKey, type KeyedOp } from './groups.js';
import type { CallCounter, Ledger } from './ledger.js';
import { mergeSettled, missingTokens, opSatisfied, suppressionSatisfied } from './settle.js';

const DUMMY = { baseUrl: 'http://127.0.0.1', workspace: 'W', env: 'live' as const };
export const ROUTE = {
  getProfile: routeKey(wire.buildGetProfile(DUMMY, 'x')),
  getPreferences: routeKey(wire.buildGetPreferences(DUMMY, 'x')),
  batch: routeKey(wire.buildBatchProperties(DUMMY, [])),
  delete: routeKey(wire.buildDeleteProfiles(DUMMY, [])),
  listSuppressions: routeKey(wire.buildListSuppressions(DUMMY)),
};

export class Settler {
  /** Shared by every settle under way: the profiles re-read at once (their requests are held to the concurrency by CallCounter). */
  private readonly readLimit;

  constructor(
    private readonly api: FynoApi,
    private readonly calls: CallCounter,
    private readonly ledger: Ledger,
    concurrency: number,
    /** Keys an earlier run started but did not record as done. */
    private readonly uncertain: ReadonlySet<string> | undefined,
  ) {
    this.readLimit = pLimit(Math.max(1, concurrency));
  }

  readSuppressions = (): Promise<Suppression[]> => this.calls.call(ROUTE.listSuppressions, () => this.api.listSuppressions());

  readSnapshot = async (id: DistinctId, withPreferences: boolean): Promise<ActualSnapshot> => {
    const profile = await this.calls.call(ROUTE.getProfile, () => this.api.getProfile(id));
    if (!withPreferences || !profile) return { profile };
    const preferences = await this.calls.call(ROUTE.getPreferences, () => this.api.getPreferences(id));
    return { profile, preferences };
  };

  /**
   * The operations whose effect the live state does not show, re-reading each profile once
   * (with preferences when needed; a merge also reads its source). A token insert shrinks to
   * the tokens still missing, so a token is never inserted twice.
   */
  async unsatisfied(ops: readonly KeyedOp[]): Promise<KeyedOp[]> {
    const byId = new Map<DistinctId, KeyedOp[]>();
    const listOps: KeyedOp[] = [];
    for (const k of ops) {
      const id = profileIdOf(k.op);
      if (id === undefined) {
        listOps.push(k);
        continue;
      }
      const list = byId.get(id);
      if (list) list.push(k);
      else byId.set(id, [k]);
    }
    const left: KeyedOp[] = [];
    // The suppression list's operations: one read of the list settles them all.
    if (listOps.length > 0) {
      const live = await this.readLimit(() => this.readSuppressions());
      for (const k of listOps) if (!isSuppressionOp(k.op) || !suppressionSatisfied(k.op, live)) left.push(k);
    }
    await Promise.all([...byId].map(([id, list]) => this.readLimit(async () => {
      const snap = await this.readSnapshot(id, list.some((k) => k.op.type === 'preference.set'));
      for (const k of list) {
        const op = k.op;
        if (op.type === 'profile.merge') {
          const source = await this.calls.call(ROUTE.getProfile, () => this.api.getProfile(op.from));
          if (!mergeSettled(source, snap.profile)) left.push(k);
          continue;
        }
        if (opSatisfied(op, snap) === true) continue;
        if (op.type === 'channel.set' && Array.isArray(op.value)) {
          left.push({ key: k.key, op: { ...op, value: missingTokens(snap.profile, op.channel, op.value as Token[]) } });
          continue;
        }
        left.push(k);
      }
    })));
    // Keep the given order (the batcher builds items from it).
    const order = new Map(ops.map((k, i) => [k.key, i]));
    return left.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
  }

  /**
   * Before sending operations an earlier run may have sent: those it shows applied are done
   * earlier; the rest are returned. `undefined` (all failed) when the re-read failed.
   */
  async dropApplied(ops: KeyedOp[]): Promise<KeyedOp[] | undefined> {
    const uncertain = this.uncertain;
    const maybe = uncertain ? ops.filter((k) => uncertain.has(k.key)) : [];
    if (maybe.length === 0) return ops;
    try {
      const left = new Set((await this.unsatisfied(maybe)).map((k) => k.key));
      await this.ledger.doneEarlier(maybe.filter((k) => !left.has(k.key)));
      return ops.filter((k) => !uncertain!.has(k.key) || left.has(k.key));
    } catch (e) {
      await this.ledger.fail(ops, `could not re-read to resume: ${messageOf(e)}`);
      return undefined;
    }
  }
}
