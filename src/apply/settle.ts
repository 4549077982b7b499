/**
 * Whether live state already shows an operation's effect. Used to settle a write whose outcome
 * is unknown (a timeout, a lost response, a 5xx) by re-reading instead of blindly repeating it
 * (PRODUCT.md, "Applying": "re-read, re-diff, then act"), to resume after a crash, and by
 * verification to name what did not converge.
 */
import { assertNever } from '../errors.js';
import type { ActualProfile, PropertyValue, Suppression, Token } from '../fyno/types.js';
import { liveStatus } from '../plan/diff-preferences.js';
import { channelValueKey, propertyEquals, propertyKind, scalarKey, suppressionKey, tokenKey } from '../plan/normalize.js';
import { liveKey } from '../plan/suppressions.js';
import type { ActualSnapshot, Operation, SuppressionOperation } from '../plan/types.js';

/**
 * `true` when the snapshot shows `op` applied, `false` when it does not, `undefined` when the
 * snapshot cannot tell (preferences not read). A merge is judged on the target only: the caller
 * also checks that the source is gone (`mergeSettled`).
 */
export function opSatisfied(op: Operation, snap: ActualSnapshot): boolean | undefined {
  const p = snap.profile;
  switch (op.type) {
    case 'profile.delete':
      return p === null;
    case 'profile.merge':
      return p !== null;
    case 'profile.create': {
      if (!p) return false;
      const f = op.profile;
      if (f.name !== undefined && p.name !== f.name) return false;
      if (f.status !== undefined && p.status !== f.status) return false;
      if (f.timezone !== undefined && p.timezone !== f.timezone) return false;
      for (const [channel, value] of Object.entries(f.channels ?? {})) {
        if (value !== undefined && !channelHas(p, channel, value)) return false;
      }
      return true;
    }
    case 'profile.update':
      return p !== null && op.changes.every((c) => p[c.field] === c.after);
    case 'channel.set':
      return p !== null && channelHas(p, op.channel, op.value);
    case 'channel.delete': {
      if (!p) return false;
      const live = (p.channels as Record<string, string | Token[] | undefined>)[op.channel];
      if (op.tokens === undefined) return live === undefined || live === '' || (Array.isArray(live) && live.length === 0);
      const gone = new Set(op.tokens);
      return !Array.isArray(live) || !live.some((t) => gone.has(t.token));
    }
    case 'preference.set':
      if (!snap.preferences) return undefined;
      return liveStatus(snap.preferences, op.topic, op.channel) === op.status;
    case 'property.set':
      return p !== null && propertyEquals(op.value, p.properties[op.key]);
    case 'property.set_once':
      return p !== null && p.properties[op.key] !== undefined;
    case 'property.unset':
      return p !== null && p.properties[op.key] === undefined;
    case 'property.append':
      return p !== null && listHas(p.properties[op.key], op.value);
    case 'property.remove':
      return p !== null && !listHas(p.properties[op.key], op.value);
    case 'suppression.add':
    case 'suppression.remove':
      // Judged on the list, not on a profile: `suppressionSatisfied`.
      return undefined;
    default:
      return assertNever(op);
  }
}

/**
 * Whether the list as read shows a suppression operation applied: an add, a record with its
 * channel and identifier (and its description, when it sets one); a removal, no record `_id`.
 */
export function suppressionSatisfied(op: SuppressionOperation, live: readonly Suppression[]): boolean {
  if (op.type === 'suppression.remove') return !live.some((s) => s._id === op._id);
  const e = op.entry;
  const want = e.distinct_id !== undefined
    ? suppressionKey({ channel: e.channel, key: 'distinct_id', value: e.distinct_id })
    : suppressionKey({ channel: e.channel, key: 'destination', value: channelValueKey(e.channel, e.destination ?? '') });
  return live.some((s) => liveKey(s) === want && (e.description === undefined || s.description === e.description));
}

/** A merge happened: the source is gone and the target exists. */
export function mergeSettled(source: ActualProfile | null, target: ActualProfile | null): boolean {
  return source === null && target !== null;
}

/** The tokens of a `channel.set` that the profile does not hold yet (all of them for a single value). */
export function missingTokens(p: ActualProfile | null, channel: string, tokens: Token[]): Token[] {
  const live = p ? (p.channels as Record<string, unknown>)[channel] : undefined;
  const have = new Set(Array.isArray(live) ? (live as Token[]).map(tokenKey) : []);
  return tokens.filter((t) => !have.has(tokenKey(t)));
}

function channelHas(p: ActualProfile, channel: string, value: string | Token[]): boolean {
  const live = (p.channels as Record<string, string | Token[] | undefined>)[channel];
  if (typeof value === 'string') return typeof live === 'string' && channelValueKey(channel, live) === channelValueKey(channel, value);
  return missingTokens(p, channel, value).length === 0;
}

function listHas(live: PropertyValue | undefined, v: PropertyValue): boolean {
  if (!Array.isArray(live) || Array.isArray(v)) return false;
  const k = scalarKey(v);
  return live.some((x) => scalarKey(x) === k);
}

/** The field an operation writes, as plan output names it. */
export function fieldOf(op: Operation): string {
  switch (op.type) {
    case 'profile.create':
    case 'profile.delete':
    case 'profile.merge':
      return 'profile';
    case 'profile.update':
      return op.changes.map((c) => c.field).join(',');
    case 'channel.set':
    case 'channel.delete':
      return `channels.${op.channel}`;
    case 'preference.set':
      return `preferences.${op.topic}.${op.channel}`;
    case 'property.set':
    case 'property.set_once':
    case 'property.unset':
    case 'property.append':
    case 'property.remove':
      return `properties.${op.key}`;
    case 'suppression.add':
    case 'suppression.remove':
      return 'suppressions';
    default:
      return assertNever(op);
  }
}

/**
 * Why a written operation is not visible after the bounded wait, as precisely as the live value
 * allows. Fyno accepts a property value whose type does not match the property's type and
 * silently ignores it, and ignores strings over 255 characters
 * (fyno-user-properties-api-openapi.yml, `/profiles/properties/set`).
 */
export function divergenceReason(op: Operation, snap: ActualSnapshot, waitedMs: number): string {
  const p = snap.profile;
  if (!p && op.type !== 'profile.delete') return 'the profile does not exist';
  const notYet = `not visible after ${waitedMs} ms (Fyno applies properties asynchronously)`;
  switch (op.type) {
    case 'property.set': {
      const live = p!.properties[op.key];
      if (tooLong(op.value)) return 'Fyno ignores string values over 255 characters';
      if (live !== undefined && propertyKind(live) !== propertyKind(op.value)) {
        return `type mismatch ignored by Fyno: property holds a ${propertyKind(live)}, the value is a ${propertyKind(op.value)}`;
      }
      return live === undefined ? notYet : `${notYet}; live value differs`;
    }
    case 'property.append': {
      const live = p!.properties[op.key];
      if (live !== undefined && !Array.isArray(live)) return `type mismatch ignored by Fyno: property holds a ${propertyKind(live)}, not a list`;
      return notYet;
    }
    case 'property.set_once':
    case 'property.unset':
    case 'property.remove':
      return notYet;
    case 'preference.set':
      return 'live preference differs (a `required` channel cannot be changed)';
    default:
      return 'live state differs from what was written';
  }
}

function tooLong(v: PropertyValue): boolean {
  if (typeof v === 'string') return v.length > 255;
  return Array.isArray(v) && v.some((x) => typeof x === 'string' && x.length > 255);
}
