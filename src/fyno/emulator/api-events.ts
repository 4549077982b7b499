/**
 * Events (fyno-notification-events-openapi.yml, tag "Fire an Event"; split copy:
 * fyno-fire-an-event-api-openapi.yml). Nothing is delivered: each message that would be sent is
 * recorded (admin `GET /_emulator/sent`) and answered per channel as the spec's
 * inline_response_202_response describes, `{status, destination, msg_id}`.
 */
import { CHANNELS, SINGLE_CHANNELS, TOKEN_CHANNELS, type ChannelName } from '../types.js';
import { fail, isObject, type ApiRequest, type Ctx, type Reply } from './api-common.js';
import { issueOtp } from './api-verify.js';
import { isReply } from './profile-model.js';
import { MAX_RECORDED_EVENTS, MAX_SENT_MESSAGES, type ProfileRecord, type SentMessage } from './store.js';

const CHANNEL_SET = new Set<string>(CHANNELS);

interface Target {
  distinct_id?: string;
  to?: Partial<Record<ChannelName, string>>;
}

/** `distinct_id` and/or `to` of an event or batch item, or a 400. */
function parseTarget(e: Record<string, unknown>): Target | Reply {
  const out: Target = {};
  if (typeof e.distinct_id === 'string' && e.distinct_id !== '') out.distinct_id = e.distinct_id;
  if (e.to !== undefined && e.to !== null) {
    if (!isObject(e.to)) return fail(400, 'to must be an object of channel destinations');
    const to: Partial<Record<ChannelName, string>> = {};
    for (const [k, v] of Object.entries(e.to)) {
      // `to`'s properties are all strings (components/schemas/to); unknown keys are ignored.
      if (!CHANNEL_SET.has(k) || v === null || v === '') continue;
      if (typeof v !== 'string') return fail(400, `Invalid channel data for '${k}'`);
      to[k as ChannelName] = v;
    }
    out.to = to;
  }
  if (out.distinct_id === undefined && out.to === undefined) return fail(400, 'distinct_id or to is required!');
  return out;
}

/** The spec's EventNameDoesNotExist message; Fyno calls the live version "prod" in it. */
function eventMissing(ctx: Ctx, name: string): Reply {
  return fail(400, `The notification event name '${name}' is invalid or does not exists on ${ctx.env === 'live' ? 'prod' : 'test'}`);
}

/** The declared event's channels (undefined = all), or a 400 when events are declared and this is none. */
function checkEvent(ctx: Ctx, name: string): { channels: ChannelName[] | undefined } | Reply {
  const declared = ctx.space.declaredEvents;
  if (declared === undefined) return { channels: undefined };
  const def = declared.find((d) => d.name === name);
  return def ? { channels: def.channels } : eventMissing(ctx, name);
}

/**
 * Destinations per channel: the profile's (Option 2) merged under `to` (Option 3: "`to` object
 * take precedences"); an inactive profile (status 0, "should not receive any notifications")
 * contributes none. Token channels of a profile give one destination per active token.
 */
function destinations(ctx: Ctx, t: Target, channels: ChannelName[] | undefined): [ChannelName, string[]][] {
  const p: ProfileRecord | undefined = t.distinct_id !== undefined ? ctx.space.profiles.get(t.distinct_id) : undefined;
  const out: [ChannelName, string[]][] = [];
  for (const ch of CHANNELS) {
    if (channels !== undefined && !channels.includes(ch)) continue;
    const given = t.to?.[ch];
    if (given !== undefined) {
      out.push([ch, [given]]);
      continue;
    }
    if (!p || p.status === 0) continue;
    if ((SINGLE_CHANNELS as readonly string[]).includes(ch)) {
      const v = (p.channels as Record<string, string | undefined>)[ch];
      if (v) out.push([ch, [v]]);
    } else if ((TOKEN_CHANNELS as readonly string[]).includes(ch)) {
      const tokens = (p.channels[ch as 'push' | 'inapp'] ?? []).filter((x) => x.status !== 0).map((x) => x.token);
      if (tokens.length > 0) out.push([ch, tokens]);
    }
  }
  return out;
}

/** The OTP carried in `data.otp` (string or number), if any. */
function otpOf(data: unknown): string | undefined {
  if (!isObject(data)) return undefined;
  const v = data.otp;
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

/** Record the messages of one recipient; answers the per-channel entries of inline_response_202_response. */
function deliver(ctx: Ctx, event: string, request_id: string, t: Target, data: unknown, channels: ChannelName[] | undefined): Record<string, unknown> {
  const response: Record<string, unknown> = {};
  const otp = otpOf(data);
  let n = 0;
  for (const [channel, dests] of destinations(ctx, t, channels)) {
    for (const destination of dests) {
      n += 1;
      const msg_id = `${request_id}:${n.toString(16).toUpperCase().padStart(4, '0')}`;
      const m: SentMessage = { request_id, msg_id, event, channel, destination, sent_at: ctx.now };
      if (t.distinct_id !== undefined) m.distinct_id = t.distinct_id;
      if (data !== undefined) m.data = structuredClone(data);
      ctx.space.sent.push(m);
      // One entry per channel (the schema's response is an object keyed by channel): the first.
      response[channel] ??= { status: 'ok', destination, msg_id };
      if (otp !== undefined) issueOtp(ctx.space, { otp, destination, request_id, issued_at: ctx.now });
    }
  }
  if (otp !== undefined && n === 0) issueOtp(ctx.space, { otp, request_id, issued_at: ctx.now });
  if (ctx.space.sent.length > MAX_SENT_MESSAGES) ctx.space.sent.splice(0, ctx.space.sent.length - MAX_SENT_MESSAGES);
  return response;
}

function record(ctx: Ctx, request_id: string, body: unknown): void {
  ctx.space.events.push({ request_id, received_time: ctx.now, body });
  if (ctx.space.events.length > MAX_RECORDED_EVENTS) ctx.space.events.splice(0, ctx.space.events.length - MAX_RECORDED_EVENTS);
  ctx.store.touch();
}

/** POST /{WSID}/{version}/event (version_event_body) → 202 EventRequestAccepted | 400 EventNameDoesNotExist. */
export function fireEvent(ctx: Ctx, req: ApiRequest): Reply {
  const b = req.body;
  if (!isObject(b) || typeof b.event !== 'string' || b.event === '') return fail(400, 'event is required!');
  const target = parseTarget(b);
  if (isReply(target)) return target;
  const ev = checkEvent(ctx, b.event);
  if (isReply(ev)) return ev;
  const request_id = ctx.store.nextRequestId();
  const response = deliver(ctx, b.event, request_id, target, b.data, ev.channels);
  record(ctx, request_id, b);
  // EventRequestAccepted.received_time is `format: date` although its example is a date-time;
  // we follow the schema (fyno-api/README.md: "Follow the schema and the prose").
  return { status: 202, body: { event: b.event, received_time: ctx.now.slice(0, 10), request_id, response } };
}

/**
 * POST /{WSID}/{version}/event/bulk (event_bulk_body) → 202 BulkEventRequestAccepted. Each item
 * gets `seq`, its own `request_id` (to validate an OTP it carried) and its channel entries
 * (inline_response_202_1_response). An item's own `event` (the schema requires one, though its
 * properties do not list it) overrides the top-level one. All items are checked before any is sent.
 */
export function fireBulkEvent(ctx: Ctx, req: ApiRequest): Reply {
  const b = req.body;
  if (!isObject(b) || typeof b.event !== 'string' || b.event === '') return fail(400, 'event is required!');
  if (!Array.isArray(b.batch) || b.batch.length === 0) return fail(400, 'batch should have atleast one item in array');
  const items: { event: string; target: Target; data: unknown; channels: ChannelName[] | undefined }[] = [];
  for (const x of b.batch) {
    if (!isObject(x)) return fail(400, 'distinct_id or to is required!');
    const target = parseTarget(x);
    if (isReply(target)) return target;
    const event = typeof x.event === 'string' && x.event !== '' ? x.event : b.event;
    const ev = checkEvent(ctx, event);
    if (isReply(ev)) return ev;
    items.push({ event, target, data: x.data, channels: ev.channels });
  }
  const request_id = ctx.store.nextRequestId();
  const response = items.map((it, i) => {
    const item_id = ctx.store.nextRequestId();
    return { seq: i + 1, request_id: item_id, ...deliver(ctx, it.event, item_id, it.target, it.data, it.channels) };
  });
  record(ctx, request_id, b);
  return { status: 202, body: { event: b.event, received_time: Date.parse(ctx.now), request_id, response } };
}
