/**
 * Suppression list (fyno-suppression-list-api-openapi.yml, `/{WSID}/suppressions`, no
 * `{version}`: one list per workspace) and events (fyno-fire-an-event-api-openapi.yml: recorded
 * only, nothing is sent).
 */
import { normalizePhone } from '../../plan/normalize.js';
import { fail, isObject, ok, type ApiRequest, type Ctx, type Reply } from './api-common.js';
import { MAX_RECORDED_EVENTS, type SuppressionRecord } from './store.js';

const PHONE_CHANNELS = new Set(['sms', 'whatsapp', 'voice']);

/** GET /{WSID}/suppressions → SuppressionListSuccess (an array). */
export function listSuppressions(ctx: Ctx): Reply {
  return { status: 200, body: ctx.store.suppressionList(ctx.workspace).map((s) => ({ ...s })) };
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
  let key: { distinct_id: string } | { destination: string };
  if (typeof b.distinct_id === 'string' && b.distinct_id !== '') key = { distinct_id: b.distinct_id };
  else if (typeof b.destination === 'string' && b.destination !== '') {
    const d = b.destination;
    const valid = PHONE_CHANNELS.has(channel) ? normalizePhone(d) !== null : channel === 'email' ? /^[^@\s]+@[^@\s]+$/.test(d) : true;
    if (!valid) return fail(400, `Invalid destination for channel ${channel}`);
    key = { destination: d };
  } else return fail(400, 'distinct_id or destination is required!');
  const list = ctx.store.suppressionList(ctx.workspace);
  const same = list.find(
    (s) => s.channel === channel && ('distinct_id' in key ? s.distinct_id === key.distinct_id : s.destination === key.destination),
  );
  if (same) {
    if (description !== undefined) same.description = description;
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

function record(ctx: Ctx, body: unknown): string {
  const request_id = ctx.store.nextRequestId();
  ctx.space.events.push({ request_id, received_time: ctx.now, body });
  if (ctx.space.events.length > MAX_RECORDED_EVENTS) ctx.space.events.splice(0, ctx.space.events.length - MAX_RECORDED_EVENTS);
  ctx.store.touch();
  return request_id;
}

function hasTarget(e: Record<string, unknown>): boolean {
  return (typeof e.distinct_id === 'string' && e.distinct_id !== '') || isObject(e.to);
}

/** POST /{WSID}/{version}/event (version_event_body) → 202 EventRequestAccepted. */
export function fireEvent(ctx: Ctx, req: ApiRequest): Reply {
  const b = req.body;
  if (!isObject(b) || typeof b.event !== 'string' || b.event === '') return fail(400, 'event is required!');
  if (!hasTarget(b)) return fail(400, 'distinct_id or to is required!');
  const request_id = record(ctx, b);
  // EventRequestAccepted.received_time is `format: date` although its example is a date-time;
  // we follow the schema (fyno-api/README.md: "Follow the schema and the prose").
  return { status: 202, body: { event: b.event, received_time: ctx.now.slice(0, 10), request_id, response: {} } };
}

/** POST /{WSID}/{version}/event/bulk (event_bulk_body) → 202 BulkEventRequestAccepted. */
export function fireBulkEvent(ctx: Ctx, req: ApiRequest): Reply {
  const b = req.body;
  if (!isObject(b) || typeof b.event !== 'string' || b.event === '') return fail(400, 'event is required!');
  if (!Array.isArray(b.batch) || b.batch.length === 0) return fail(400, 'batch should have atleast one item in array');
  if (!b.batch.every((x) => isObject(x) && hasTarget(x))) return fail(400, 'distinct_id or to is required!');
  const request_id = record(ctx, b);
  return {
    status: 202,
    body: { event: b.event, received_time: Date.parse(ctx.now), request_id, response: b.batch.map((_, i) => ({ seq: i + 1 })) },
  };
}
