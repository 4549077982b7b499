/**
 * User property endpoints (fyno-notification-events-openapi.yml, tag "User Properties"; split
 * copy: fyno-user-properties-api-openapi.yml). Every endpoint answers 202 with a `request_id`
 * (PropertyUpdateRequestAccepted) and only queues the change; the engine applies it later
 * (`propertyDelayMs`), as Fyno does.
 */
import { ownValue, propertyKind, scalarKey, isFynoDate, type PropertyKind } from '../../plan/normalize.js';
import type { PropertyActions, PropertyBatchItem, PropertyScalar, PropertyValue } from '../types.js';
import { fail, hasOwn, isObject, MSG, type ApiRequest, type Ctx, type Reply } from './api-common.js';
import { newProfile } from './api-profiles.js';
import { isReply } from './profile-model.js';
import { MAX_STRING, tooLongField } from './limits.js';
import type { FynoStore, PendingPropertyOp } from './store.js';

type ActionKey = keyof PropertyActions;
/** Order in which one item's actions are applied (README, "Properties"). */
const ACTION_ORDER: readonly ActionKey[] = ['$set', '$once', '$add', '$append', '$remove', '$unset'];

/** Endpoint → the single action it carries. */
export const PROPERTY_ENDPOINTS: Record<string, ActionKey> = {
  set: '$set',
  'set-once': '$once',
  'numerical-add': '$add',
  'list-append': '$append',
  'list-remove': '$remove',
  unset: '$unset',
};

const isScalar = (v: unknown): v is PropertyScalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * Shape check of one action's value. Wrong shapes get the spec's message for that action
 * (EmptySetObject … EmptyUnsetObject: "$set has object/keys that is not allowed").
 */
export function checkAction(key: ActionKey, v: unknown): Reply | null {
  const bad = () => (key === '$unset' ? fail(400, '$unset channel should have atleast one item in array') : fail(400, `${key} has object/keys that is not allowed`));
  if (key === '$unset') return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? null : bad();
  if (!isObject(v) || Object.keys(v).length === 0) return bad();
  for (const x of Object.values(v)) {
    const okValue =
      key === '$add'
        ? typeof x === 'number' && Number.isFinite(x)
        : key === '$append' || key === '$remove'
          ? (typeof x === 'string' || typeof x === 'number')
          : isScalar(x) || (Array.isArray(x) && x.every(isScalar));
    if (!okValue) return bad();
  }
  return null;
}

function parseActions(obj: Record<string, unknown>, only?: ActionKey): PropertyActions | Reply {
  const actions: Record<string, unknown> = {};
  const keys = only ? [only] : ACTION_ORDER;
  for (const k of keys) {
    if (!hasOwn(obj, k)) continue;
    const err = checkAction(k, obj[k]);
    if (err) return err;
    actions[k] = obj[k];
  }
  if (Object.keys(actions).length === 0) return fail(400, `${only ?? '$set'} has object/keys that is not allowed`);
  return actions as PropertyActions;
}

function accept(ctx: Ctx, items: PropertyBatchItem[]): string {
  const op: PendingPropertyOp = {
    request_id: ctx.store.nextRequestId(),
    workspace: ctx.workspace,
    env: ctx.env,
    accepted_at: ctx.now,
    items,
  };
  ctx.store.pending.push(op);
  ctx.store.touch();
  return op.request_id;
}

/** POST /{WSID}/{version}/profiles/properties/{set|set-once|numerical-add|list-append|list-remove|unset}. */
export function singlePropertyEndpoint(action: ActionKey) {
  return (ctx: Ctx, req: ApiRequest): Reply => {
    const b = req.body;
    if (!isObject(b) || typeof b.distinct_id !== 'string' || b.distinct_id === '') return fail(400, MSG.distinctIdRequired);
    const long = tooLongField('distinct_id', b.distinct_id);
    if (long) return long;
    if (!hasOwn(b, action)) return action === '$unset' ? fail(400, '$unset channel should have atleast one item in array') : fail(400, `${action} has object/keys that is not allowed`);
    const parsed = parseActions(b, action);
    if (isReply(parsed)) return parsed;
    const request_id = accept(ctx, [{ distinct_id: b.distinct_id, action: parsed }]);
    return { status: 202, body: { request_id } };
  };
}

/** POST /{WSID}/{version}/profiles/properties/batch (user_property_bulk) → PropertyUpdateRequestAcceptedBulk. */
export function batchProperties(ctx: Ctx, req: ApiRequest): Reply {
  const b = req.body;
  if (!isObject(b) || !Array.isArray(b.batch) || b.batch.length === 0) return fail(400, 'batch should have atleast one item in array');
  const items: PropertyBatchItem[] = [];
  const report: Record<string, string>[] = [];
  for (const item of b.batch) {
    if (!isObject(item) || typeof item.distinct_id !== 'string' || item.distinct_id === '') return fail(400, MSG.distinctIdRequired);
    const long = tooLongField('distinct_id', item.distinct_id);
    if (long) return long;
    if (!isObject(item.action)) return fail(400, '$set has object/keys that is not allowed');
    const parsed = parseActions(item.action);
    if (isReply(parsed)) return parsed;
    const actions = parsed;
    items.push({ distinct_id: item.distinct_id, action: actions });
    report.push(Object.fromEntries(Object.keys(actions).map((k) => [k, 'ok'])));
  }
  const request_id = accept(ctx, items);
  return { status: 202, body: { request_id, batch: report } };
}

/** A value fits a property type. Lists may mix types (spec: "Although not recommended…"). */
function fits(kind: PropertyKind, v: PropertyValue): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'date':
      return typeof v === 'string' && isFynoDate(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'list':
      return Array.isArray(v);
  }
}

/** Strings are at most 255 characters (set_user_property description); longer ones are ignored. */
function tooLong(v: PropertyValue): boolean {
  if (typeof v === 'string') return v.length > MAX_STRING;
  return Array.isArray(v) && v.some((x) => typeof x === 'string' && x.length > MAX_STRING);
}

/**
 * Apply one accepted request. A value whose type does not match the property's registered type
 * is accepted and silently ignored (spec, `/profiles/properties/set`); the first value sets the
 * type. `$remove`/`$unset` on a missing profile or property do nothing; the other actions create
 * the profile (spec: "If the user with distinct ID doesn't exist, it creates a new user").
 */
export function applyPropertyOp(store: FynoStore, op: PendingPropertyOp, now: string): void {
  const space = store.space(op.workspace, op.env);
  const types = space.propertyTypes;
  const ctx: Ctx = { store, now, workspace: op.workspace, env: op.env, space };
  const typed = (key: string, v: PropertyValue, kind: PropertyKind = propertyKind(v)): boolean => {
    if (tooLong(v)) return false;
    const t = types.get(key);
    if (t === undefined) {
      types.set(key, kind);
      return true;
    }
    return fits(t, v);
  };
  for (const item of op.items) {
    const a = item.action;
    let p = space.profiles.get(item.distinct_id);
    const creates = a.$set || a.$once || a.$add || a.$append;
    if (!p) {
      if (!creates) continue;
      p = newProfile(ctx, item.distinct_id);
      space.profiles.set(p.distinct_id, p);
    }
    // A keyed record (no prototype): `$set {"__proto__": …}` or a key `constructor` is data (issue #14).
    const props = p.properties;
    for (const [k, v] of Object.entries(a.$set ?? {})) if (typed(k, v)) props[k] = structuredClone(v);
    for (const [k, v] of Object.entries(a.$once ?? {})) if (!hasOwn(props, k) && typed(k, v)) props[k] = structuredClone(v);
    for (const [k, v] of Object.entries(a.$add ?? {})) {
      const cur = ownValue(props, k);
      if (cur !== undefined && typeof cur !== 'number') continue;
      if (typed(k, v, 'number')) props[k] = (cur ?? 0) + v;
    }
    for (const [k, v] of Object.entries(a.$append ?? {})) {
      const cur = ownValue(props, k);
      if (cur !== undefined && !Array.isArray(cur)) continue;
      if (!typed(k, [v], 'list')) continue;
      const list = cur ?? [];
      // "A list may contain only unique values … it will be ignored" (/profiles/properties/list-append).
      if (!list.some((x) => scalarKey(x) === scalarKey(v))) list.push(v);
      props[k] = list;
    }
    for (const [k, v] of Object.entries(a.$remove ?? {})) {
      const cur = ownValue(props, k);
      if (Array.isArray(cur)) props[k] = cur.filter((x) => scalarKey(x) !== scalarKey(v));
    }
    for (const k of a.$unset ?? []) delete props[k];
    p.updated_at = now;
  }
  store.touch();
}
