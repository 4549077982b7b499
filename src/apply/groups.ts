/**
 * Pure request grouping: one profile's operations → the fewest requests, in the per-profile
 * order of PRODUCT.md ("Applying"): merge → create → profile fields → channels → properties →
 * preferences; delete alone.
 *
 * - all `profile.update` changes → one `PUT /profiles/{id}` (never with `channel`, which replaces
 *   every channel);
 * - whole-channel deletes → one `POST …/channel/delete {channel}`; token deletes → one
 *   `{push, inapp}` (the two forms of `channel_delete_body` cannot share a body);
 * - every `channel.set` → one `PATCH …/channel` (single values updated, tokens inserted), sent
 *   after the deletes so a token re-inserted with another integration survives;
 * - property operations → `PropertyActions` items for `POST /profiles/properties/batch`, which
 *   carries many actions and profiles per call; a key appears once per item because Fyno applies
 *   an item's actions in a fixed order, not in ours;
 * - every `preference.set` → one `PUT /subscriptions/preference` keyed by topic or `all`.
 */
import { InternalError } from '../errors.js';
import type { ChannelName, Channels, DistinctId, FynoApi, PreferenceUpdate, ProfileUpdate, PropertyActions, PropertyBatchItem, PropertyScalar, SuppressionAdd, SuppressionDelete, Target, Token } from '../fyno/types.js';
import { TOKEN_CHANNELS } from '../fyno/types.js';
import * as wire from '../fyno/wire.js';
import { keyedRecord } from '../plan/normalize.js';
import { OP_INFO, opSubject, type Operation, type SuppressionOperation } from '../plan/types.js';

/** An operation with its journal key (`p:<index in plan>` or `r<run>:<id>:<n>` after a re-plan). */
export interface KeyedOp {
  key: string;
  op: Operation;
}

type Dist<O, T> = O extends { type: infer U } ? (T extends U ? O : never) : never;
/** The operation variant(s) of type T (property operations share one variant). */
type OpOf<T extends Operation['type']> = Dist<Operation, T>;

export type Step =
  | { kind: 'merge'; ops: KeyedOp[]; source: DistinctId }
  | { kind: 'create'; ops: KeyedOp[] }
  | { kind: 'update'; ops: KeyedOp[]; fields: ProfileUpdate }
  | { kind: 'channels.delete'; ops: KeyedOp[]; channels: ChannelName[] }
  | { kind: 'tokens.delete'; ops: KeyedOp[]; tokens: { push: string[]; inapp: string[] } }
  | { kind: 'channels.set'; ops: KeyedOp[]; channels: Channels }
  | { kind: 'properties'; ops: KeyedOp[] }
  | { kind: 'preferences'; ops: KeyedOp[]; update: PreferenceUpdate }
  | { kind: 'delete'; ops: KeyedOp[] };

/** Stable sort by per-profile execution order. */
export function sortByOrder(ops: readonly KeyedOp[]): KeyedOp[] {
  return [...ops].sort((a, b) => OP_INFO[a.op.type].order - OP_INFO[b.op.type].order);
}

function ofType<T extends Operation['type']>(ops: readonly KeyedOp[], ...types: T[]): (KeyedOp & { op: OpOf<T> })[] {
  return ops.filter((k): k is KeyedOp & { op: OpOf<T> } => (types as string[]).includes(k.op.type));
}

/** The steps (one request each, properties aside) for one profile's operations, in order. */
export function stepsForProfile(ops: readonly KeyedOp[]): Step[] {
  const sorted = sortByOrder(ops);
  const steps: Step[] = [];
  for (const m of ofType(sorted, 'profile.merge')) steps.push({ kind: 'merge', ops: [m], source: m.op.from });
  for (const c of ofType(sorted, 'profile.create')) steps.push({ kind: 'create', ops: [c] });

  const updates = ofType(sorted, 'profile.update');
  if (updates.length > 0) {
    const fields: ProfileUpdate = {};
    for (const u of updates) for (const c of u.op.changes) (fields as Record<string, string>)[c.field] = c.after;
    steps.push({ kind: 'update', ops: updates, fields });
  }

  const deletes = ofType(sorted, 'channel.delete');
  const whole = deletes.filter((d) => d.op.tokens === undefined);
  if (whole.length > 0) steps.push({ kind: 'channels.delete', ops: whole, channels: [...new Set(whole.map((d) => d.op.channel))] });
  const byToken = deletes.filter((d) => d.op.tokens !== undefined);
  if (byToken.length > 0) {
    const tokens = { push: [] as string[], inapp: [] as string[] };
    for (const d of byToken) {
      if (d.op.channel !== 'push' && d.op.channel !== 'inapp') throw new InternalError(`token delete on channel ${d.op.channel}`);
      tokens[d.op.channel].push(...d.op.tokens!);
    }
    steps.push({ kind: 'tokens.delete', ops: byToken, tokens });
  }
  const sets = ofType(sorted, 'channel.set');
  if (sets.length > 0) steps.push({ kind: 'channels.set', ops: sets, channels: channelsOf(sets.map((s) => s.op)) });

  const props = ofType(sorted, 'property.set', 'property.set_once', 'property.unset', 'property.append', 'property.remove');
  if (props.length > 0) steps.push({ kind: 'properties', ops: props });

  const prefs = ofType(sorted, 'preference.set');
  if (prefs.length > 0) {
    // Topic ids are user keys: no inherited `constructor` or `toString` may stand in for one.
    const update: PreferenceUpdate = keyedRecord();
    for (const p of prefs) (update[p.op.topic] ??= keyedRecord())[p.op.channel] = p.op.status;
    steps.push({ kind: 'preferences', ops: prefs, update });
  }
  const del = ofType(sorted, 'profile.delete');
  if (del.length > 0) steps.push({ kind: 'delete', ops: del });
  return steps;
}

/** The `channel` body of one PATCH for several `channel.set` operations. */
export function channelsOf(ops: readonly OpOf<'channel.set'>[]): Channels {
  const out: Record<string, string | Token[]> = {};
  for (const op of ops) {
    if (typeof op.value === 'string') out[op.channel] = op.value;
    else out[op.channel] = [...((out[op.channel] as Token[] | undefined) ?? []), ...op.value.map((t) => ({ ...t }))];
  }
  return out as Channels;
}

/** The channels of a create body (`ProfileFields.channels` is looser than `Channels`). */
export function createBody(op: OpOf<'profile.create'>): Parameters<typeof wire.buildCreateProfile>[1] {
  const f = op.profile;
  return {
    distinct_id: op.distinct_id,
    ...(f.name !== undefined ? { name: f.name } : {}),
    ...(f.status !== undefined ? { status: f.status } : {}),
    ...(f.timezone !== undefined ? { timezone: f.timezone } : {}),
    ...(f.channels !== undefined ? { channels: f.channels as Channels } : {}),
  };
}

function scalar(op: Operation, v: unknown): PropertyScalar {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new InternalError(`${op.type} of ${opSubject(op)} needs a single value`);
}

/**
 * Batch items for property operations, in order: same profile ⇒ same item until a key repeats
 * (then a new item, which Fyno applies after the previous one).
 */
export function propertyItems(ops: readonly KeyedOp[]): PropertyBatchItem[] {
  const items: PropertyBatchItem[] = [];
  const open = new Map<DistinctId, { item: PropertyBatchItem; keys: Set<string> }>();
  for (const { op: any } of ops) {
    if (!any.type.startsWith('property.')) throw new InternalError(`${any.type} is not a property operation`);
    const op = any as OpOf<'property.set' | 'property.set_once' | 'property.unset' | 'property.append' | 'property.remove'>;
    const key = op.key;
    let cur = open.get(op.distinct_id);
    if (!cur || cur.keys.has(key)) {
      cur = { item: { distinct_id: op.distinct_id, action: {} }, keys: new Set() };
      open.set(op.distinct_id, cur);
      items.push(cur.item);
    }
    cur.keys.add(key);
    const a: PropertyActions = cur.item.action;
    switch (op.type) {
      case 'property.set':
        (a.$set ??= keyedRecord())[key] = op.value;
        break;
      case 'property.set_once':
        (a.$once ??= keyedRecord())[key] = op.value;
        break;
      case 'property.append':
        (a.$append ??= keyedRecord())[key] = scalar(op, op.value);
        break;
      case 'property.remove':
        (a.$remove ??= keyedRecord())[key] = scalar(op, op.value);
        break;
      case 'property.unset':
        (a.$unset ??= []).push(key);
        break;
      default:
        throw new InternalError(`${(op as Operation).type} is not a property operation`);
    }
  }
  return items;
}

/** Whether a batch of these items is safe to repeat (`$add`/`$append` are not, PRODUCT.md). */
export function itemsIdempotent(items: readonly PropertyBatchItem[]): boolean {
  return items.every((i) => i.action.$add === undefined && i.action.$append === undefined);
}

/** Which token channel a `tokens.delete` step touches (for settle reads). */
export function isTokenChannel(c: string): c is (typeof TOKEN_CHANNELS)[number] {
  return (TOKEN_CHANNELS as readonly string[]).includes(c);
}

/**
 * The request a profile-scoped step sends, as the wire builders describe it (route, body,
 * idempotency by nature). Property steps are batched across profiles; see `propertyItems`.
 */
export function stepRequest(t: Target, id: DistinctId, step: Exclude<Step, { kind: 'properties' | 'delete' }>): wire.RequestSpec {
  switch (step.kind) {
    case 'merge':
      return wire.buildMergeProfile(t, step.source, id);
    case 'create':
      return wire.buildCreateProfile(t, createBody(step.ops[0]!.op as OpOf<'profile.create'>));
    case 'update':
      return wire.buildUpdateProfile(t, id, step.fields);
    case 'channels.delete':
      return wire.buildDeleteChannels(t, id, step.channels);
    case 'tokens.delete':
      return wire.buildDeleteTokens(t, id, step.tokens);
    case 'channels.set':
      return wire.buildUpsertChannels(t, id, step.channels);
    case 'preferences':
      return wire.buildSetPreferences(t, id, step.update);
    default: {
      const never: never = step;
      throw new InternalError(`unexpected step ${JSON.stringify(never)}`);
    }
  }
}

/** `METHOD route` of a request spec: the key of `ApplySummary.requests` and of emulator stats. */
export function routeKey(spec: Pick<wire.RequestSpec, 'method' | 'route'>): string {
  return `${spec.method} ${spec.route}`;
}

/** A step that one profile-scoped request carries. */
export type ProfileStep = Exclude<Step, { kind: 'properties' | 'delete' }>;

/**
 * Send a profile-scoped step through the API port. `idempotent` is what the wire builder says of
 * the request (PRODUCT.md: the client retries only those blindly; the rest are settled).
 */
export async function sendStep(api: FynoApi, id: DistinctId, step: ProfileStep): Promise<void> {
  const o = { idempotent: stepRequest(api.target, id, step).idempotentByNature };
  switch (step.kind) {
    case 'merge':
      return api.mergeProfile(step.source, id, o);
    case 'create': {
      const op = step.ops[0]!.op;
      if (op.type !== 'profile.create') throw new InternalError('create step without create');
      return api.createProfile(createBody(op), o);
    }
    case 'update':
      return api.updateProfile(id, step.fields, o);
    case 'channels.delete':
      return api.deleteChannels(id, step.channels, o);
    case 'tokens.delete':
      return api.deleteTokens(id, step.tokens, o);
    case 'channels.set':
      return api.upsertChannels(id, step.channels, o);
    case 'preferences':
      return api.setPreferences(id, step.update, o);
    default: {
      const never: never = step;
      throw new InternalError(`unexpected step ${JSON.stringify(never)}`);
    }
  }
}

// ---- the suppression list (issue #18): one request per operation -------------------------------

/** The body of `POST /{WSID}/suppressions` for an add: the channel, one identifier, the description. */
export function suppressionAddBody(op: SuppressionOperation & { type: 'suppression.add' }): SuppressionAdd {
  const e = op.entry;
  const desc = e.description !== undefined ? { description: e.description } : {};
  if (e.distinct_id !== undefined) return { channel: e.channel, distinct_id: e.distinct_id, ...desc };
  if (e.destination === undefined) throw new InternalError('suppression.add without destination or distinct_id');
  return { channel: e.channel, destination: e.destination, ...desc };
}

/**
 * A removal deletes the record by the `_id` the plan read: `distinct_id` and `destination`
 * delete every matching record on every channel (`DELETE /{WSID}/suppressions`, its parameters).
 */
function suppressionDeleteQuery(op: SuppressionOperation & { type: 'suppression.remove' }): SuppressionDelete {
  return { _id: op._id };
}

/** The request one suppression operation sends. */
export function suppressionRequest(t: Target, op: SuppressionOperation): wire.RequestSpec {
  return op.type === 'suppression.add' ? wire.buildAddSuppression(t, suppressionAddBody(op)) : wire.buildDeleteSuppression(t, suppressionDeleteQuery(op));
}

/** Send one suppression operation through the API port. */
export async function sendSuppression(api: FynoApi, op: SuppressionOperation): Promise<void> {
  const o = { idempotent: suppressionRequest(api.target, op).idempotentByNature };
  if (op.type === 'suppression.add') return api.addSuppression(suppressionAddBody(op), o);
  return api.deleteSuppression(suppressionDeleteQuery(op), o);
}
