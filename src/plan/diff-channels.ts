/**
 * Channels. `PATCH /profiles/{id}/channel` *updates* single-destination channels and *inserts*
 * push/inapp tokens; `POST /profiles/{id}/channel/delete` removes whole channels or specific
 * tokens (fyno-manage-user-profiles-api-openapi.yml). `PUT` with `channel` replaces all
 * channels and is never used (PRODUCT.md, "The API we talk to").
 */
import type { Channels, SingleChannelName, Token, TokenChannelName } from '../fyno/types.js';
import type { SourceRef } from '../desired/types.js';
import { SINGLE_CHANNELS, TOKEN_CHANNELS } from '../fyno/types.js';
import { channelValueKey, tokenKey } from './normalize.js';
import { isSensitive, refOf, type ProfileDiff } from './diff-context.js';

const SINGLE: ReadonlySet<string> = new Set(SINGLE_CHANNELS);
const TOKENS: ReadonlySet<string> = new Set(TOKEN_CHANNELS);

export function diffChannels(diff: ProfileDiff, live: Channels): void {
  const channels = diff.desired.channels;
  if (!channels) return;
  // The channels the file names (a channel it omits is unmanaged), in any order: planProfile
  // sorts the operations by type, then channel.
  for (const c of Object.keys(channels)) {
    if (SINGLE.has(c)) diffSingle(diff, c as SingleChannelName, channels[c as SingleChannelName], live[c as SingleChannelName]);
    else if (TOKENS.has(c)) diffTokens(diff, c as TokenChannelName, channels[c as TokenChannelName], live[c as TokenChannelName]);
  }
}

const PHONE_CHANNELS: ReadonlySet<string> = new Set(['sms', 'whatsapp', 'voice']);
const PHONE_TEXT_RE = /^\+?[\d\s().-]+$/;

/**
 * Same destination after normalisation. Fast path first: parsing a phone number costs tens of
 * microseconds (most of a 100,000-profile diff), while a live number that has exactly the
 * desired E.164 digits, written with spaces, dashes or without `+`, is the same number.
 */
export function sameDestination(channel: SingleChannelName, want: string, have: string): boolean {
  if (want === have) return true;
  if (PHONE_CHANNELS.has(channel) && want.startsWith('+') && PHONE_TEXT_RE.test(have) && sameDigits(want, have)) return true;
  return channelValueKey(channel, want) === channelValueKey(channel, have);
}

/** The ASCII digits of `a` and of `b` are the same sequence (read in place, nothing copied). */
function sameDigits(a: string, b: string): boolean {
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isDigit(a.charCodeAt(i))) i += 1;
    while (j < b.length && !isDigit(b.charCodeAt(j))) j += 1;
    if (i === a.length || j === b.length) return i === a.length && j === b.length;
    if (a.charCodeAt(i) !== b.charCodeAt(j)) return false;
    i += 1;
    j += 1;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function diffSingle(diff: ProfileDiff, channel: SingleChannelName, want: string | null | undefined, have: string | undefined): void {
  if (want === undefined) return; // omitted: unmanaged
  const hasLive = have !== undefined && have !== '';
  if (want === null && !hasLive) return;
  if (want !== null && hasLive && sameDestination(channel, want, have)) return;
  const d = diff.desired;
  const path = `channels.${channel}`;
  const base = { distinct_id: d.distinct_id, at: refOf(d, path), ...(isSensitive(d, path) ? { sensitive: true } : {}) };
  if (want === null) {
    diff.ops.push({ ...base, type: 'channel.delete', channel, before: have, idempotent: true });
    return;
  }
  diff.ops.push({
    ...base,
    type: 'channel.set',
    channel,
    value: want,
    ...(hasLive ? { before: have } : {}),
    idempotent: true, // PATCH of a single channel overwrites: safe to repeat
  });
}

/**
 * A present token list is exact (PRODUCT.md, "Desired state"), reached with at most two
 * requests: one delete of the tokens to drop, one PATCH that inserts new tokens and updates kept
 * ones (issue #13 item 5).
 * - A token live once and wanted with another integration_id/status is updated in place: PATCH
 *   …/channel upserts by token value (src/fyno/emulator/README.md, "Token insert"), so it is
 *   written again as desired and never deleted (a crash between a delete and its re-insert would
 *   lose it). The update carries `status` explicitly, so a server that keeps the stored fields a
 *   request omits still activates or deactivates it.
 * - A token stored more than once can only be cleaned up by deleting it by value and inserting
 *   it again (the delete is emitted first so the insert survives).
 * - `[]` deletes the live tokens by value (one request, like deleting the whole channel, but it
 *   names exactly what goes); YAML `null` deletes the whole channel.
 * Token values are secrets: every token op is `sensitive`.
 */
function diffTokens(diff: ProfileDiff, channel: TokenChannelName, want: Token[] | null | undefined, have: Token[] | undefined): void {
  if (want === undefined) return;
  const d = diff.desired;
  const live = have ?? [];
  if (want === null) {
    if (live.length > 0) diff.ops.push({ ...tokenBase(d, channel), type: 'channel.delete', channel, idempotent: true });
    return;
  }
  // The usual converged case, one token wanted and the same one live, without the maps below.
  if (want.length === 1 && live.length === 1 && sameToken(want[0]!, live[0]!)) return;
  const wanted = new Map<string, Token>();
  for (const t of want) if (!wanted.has(t.token)) wanted.set(t.token, t);
  const liveByToken = new Map<string, Token[]>();
  for (const t of live) {
    const entries = liveByToken.get(t.token);
    if (entries) entries.push(t);
    else liveByToken.set(t.token, [t]);
  }

  const remove: string[] = [];
  const update: Token[] = [];
  for (const [token, entries] of liveByToken) {
    const w = wanted.get(token);
    if (!w || entries.length !== 1) remove.push(token);
    else if (tokenKey(entries[0]!) !== tokenKey(w)) update.push({ ...w, status: w.status ?? 1 });
  }
  const removed = new Set(remove);
  const add = [...wanted.values()].filter((t) => !liveByToken.has(t.token) || removed.has(t.token));
  if (remove.length === 0 && update.length === 0 && add.length === 0) return;
  const base = tokenBase(d, channel);
  if (remove.length > 0) diff.ops.push({ ...base, type: 'channel.delete', channel, tokens: remove, idempotent: true });
  // Writing a token that is there again leaves the same state: safe to repeat.
  if (update.length > 0) diff.ops.push({ ...base, type: 'channel.set', channel, value: update, in_place: true, idempotent: true });
  // Insert is not idempotent (PRODUCT.md, "Applying"): apply re-reads before retrying it.
  if (add.length > 0) diff.ops.push({ ...base, type: 'channel.set', channel, value: add.map((t) => ({ ...t })), idempotent: false });
}

/** `tokenKey(a) === tokenKey(b)`, told by comparing the fields when they are the same values. */
function sameToken(a: Token, b: Token): boolean {
  if (a.token !== b.token) return false;
  if ((a.integration_id ?? null) === (b.integration_id ?? null) && (a.status ?? 1) === (b.status ?? 1)) return true;
  return tokenKey(a) === tokenKey(b);
}

function tokenBase(d: ProfileDiff['desired'], channel: TokenChannelName): { distinct_id: string; at: SourceRef; sensitive: true } {
  return { distinct_id: d.distinct_id, at: refOf(d, `channels.${channel}`), sensitive: true };
}
