/**
 * Suppression list (fyno-suppression-list-api-openapi.yml, `/{WSID}/suppressions`, no
 * `{version}`: one list per workspace). Events are in api-events.ts.
 */
import { normalizePhone } from '../../plan/normalize.js';
import { fail, isObject, ok, type ApiRequest, type Ctx, type Reply } from './api-common.js';
import type { SuppressionRecord } from './store.js';

const PHONE_CHANNELS = new Set(['sms', 'whatsapp', 'voice']);

/**
 * GET /{WSID}/suppressions → SuppressionListSuccess (an array of fetch_suppression_list). An
 * entry whose `expiry_ts` ("Optional timestamp for expiration of suppression") has passed is no
 * longer listed: it no longer suppresses anything.
 */
export function listSuppressions(ctx: Ctx): Reply {
  return { status: 200, body: liveSuppressions(ctx).map((s) => ({ ...s })) };
}

function liveSuppressions(ctx: Ctx): SuppressionRecord[] {
  const now = Date.parse(ctx.now);
  return ctx.store.suppressionList(ctx.workspace).filter((s) => s.expiry_ts === undefined || !(Date.parse(s.expiry_ts) <= now));
}

/** The entry of `list` for `channel` and that distinct_id or destination, if any. */
export function sameSuppression(list: readonly SuppressionRecord[], channel: string, key: { distinct_id: string } | { destination: string }): SuppressionRecord | undefined {
  return list.find((s) => s.channel === channel && ('distinct_id' in key ? s.distinct_id === key.distinct_id : s.destination === key.destination));
}

/** What a suppression body names its entry by: `distinct_id` wins over `destination` (spec note). */
export function suppressionKey(b: Readonly<Record<string, unknown>>): { distinct_id: string } | { destination: string } | undefined {
  if (typeof b.distinct_id === 'string' && b.distinct_id !== '') return { distinct_id: b.distinct_id };
  if (typeof b.destination === 'string' && b.destination !== '') return { destination: b.destination };
  return undefined;
}

/**
 * POST /{WSID}/suppressions (add_suppression_list). `distinct_id` wins over `destination` (spec
 * note). A destination is checked against its channel: phone channels need a valid number,
 * email an `@` → else 400 "Invalid destination for channel sms" (SuppressionListError). Adding an
 * entry that exists (same channel and distinct_id/destination) updates its description only.
 */
export function addSuppression(ctx: Ctx, req: ApiRequest): Reply {
  const b = req.body;
  if (!isObject(b)) return fail(400, 'Request body must be a JSON object');
  if (typeof b.channel !== 'string' || b.channel === '') return fail(400, 'channel is required!');
  const channel = b.channel;
  const description = typeof b.description === 'string' ? b.description : undefined;
  const key = suppressionKey(b);
  if (key === undefined) return fail(400, 'distinct_id or destination is required!');
  if ('destination' in key) {
    const d = key.destination;
    const valid = PHONE_CHANNELS.has(channel) ? normalizePhone(d) !== null : channel === 'email' ? /^[^@\s]+@[^@\s]+$/.test(d) : true;
    if (!valid) return fail(400, `Invalid destination for channel ${channel}`);
  }
  const list = ctx.store.suppressionList(ctx.workspace);
  const same = sameSuppression(list, channel, key);
  if (same) {
    if (description !== undefined) same.description = description;
    // Added again: suppressed from now on, whatever expiry was seeded.
    delete same.expiry_ts;
  } else {
    const rec: SuppressionRecord = { _id: ctx.store.nextObjectId(), channel, ...key, created_at: ctx.now };
    if (description !== undefined) rec.description = description;
    list.push(rec);
  }
  ctx.store.touch();
  return ok(200, 'User has been added to the suppression!');
}

/**
 * DELETE /{WSID}/suppressions?_id=|distinct_id=|destination= : precedence `_id`, then
 * `distinct_id`, then `destination` (spec note); deletes every matching entry (all channels).
 */
export function deleteSuppression(ctx: Ctx, req: ApiRequest): Reply {
  const q = req.query;
  const field = q._id ? '_id' : q.distinct_id ? 'distinct_id' : q.destination ? 'destination' : undefined;
  if (!field) return fail(400, '_id, distinct_id or destination is required!');
  const value = q[field]!;
  const list = ctx.store.suppressionList(ctx.workspace);
  const kept = list.filter((s) => s[field] !== value);
  const n = list.length - kept.length;
  if (n === 0) return fail(400, 'Unable to delete non existing data!');
  ctx.store.suppressions.set(ctx.workspace, kept);
  ctx.store.touch();
  return ok(200, `${n} record(s) has been deleted!`);
}
