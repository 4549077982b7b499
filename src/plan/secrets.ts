/**
 * Secrets never go into plan files or `--json` output (PRODUCT.md, "Desired state": values from
 * the environment "are masked in every output"; push/inapp tokens are credentials). In the
 * serialized form each secret value is replaced by `{ "$secret": "sha256:<hex>" }`, the SHA-256
 * of `distinct_id + "\n" + stableStringify(value)`. Salting with the distinct_id stops one table
 * of hashes from matching across profiles; a low-entropy value (a phone number) can still be
 * guessed from its hash by brute force, so plan files remain internal artefacts (docs/planner.md, "Plan files").
 *
 * Apply gets the values back with `resolveSecrets`, from the re-loaded desired state and the
 * live profiles (`collectSecretCandidates`).
 */
import { hash } from 'node:crypto';
import type { DesiredState } from '../desired/types.js';
import type { DistinctId, PropertyValue } from '../fyno/types.js';
import { assertNever, FynoSyncError } from '../errors.js';
import { stableStringify, uniqueScalars } from './normalize.js';
import { isSuppressionOp, opSubject, type ActualSnapshot, type Operation, type Plan } from './types.js';

/** Placeholder of a secret value in a serialized plan. */
export interface SecretRef {
  $secret: string;
}

export function isSecretRef(v: unknown): v is SecretRef {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as SecretRef).$secret === 'string' && Object.keys(v).length === 1;
}

export function secretHash(distinctId: DistinctId, value: unknown): string {
  // One-shot `hash`: no Hash object per value (every token of every changed profile, issue #17).
  return `sha256:${hash('sha256', `${distinctId}\n${stableStringify(value)}`, 'hex')}`;
}

/** Maps every value in an operation that is a secret through `f` (a copy; `op` is untouched). */
function mapSecrets(op: Operation, f: (v: unknown, required: boolean) => unknown): Operation {
  const copy = structuredClone(op);
  for (const s of secretSlots(copy)) s.holder[s.key] = f(s.holder[s.key], s.required);
  return copy;
}

/** Where a secret value is held: `holder[key]`; `required`: the operation cannot go without it (not a `before`). */
interface SecretSlot {
  holder: Record<string | number, unknown>;
  key: string | number;
  required: boolean;
}

/** The places in `op` that hold a secret value, in order (read-only: nothing is written to `op`). */
function secretSlots(op: Operation): SecretSlot[] {
  const out: SecretSlot[] = [];
  const c = op as unknown as Record<string, unknown>;
  const slot = (holder: unknown, key: string | number, required: boolean): void => void out.push({ holder: holder as SecretSlot['holder'], key, required });
  const tokens = (ts: unknown): void => {
    if (Array.isArray(ts)) for (const t of ts) slot(t, 'token', true);
  };
  const hasBefore = 'before' in c && c.before !== undefined;
  const fields = new Set(isSuppressionOp(op) ? [] : (op.sensitive_fields ?? []));
  switch (op.type) {
    case 'profile.create': {
      const p = c.profile as Record<string, unknown>;
      const ch = p.channels as Record<string, unknown> | undefined;
      for (const f2 of ['name', 'status', 'timezone']) if (fields.has(f2) && p[f2] !== undefined) slot(p, f2, true);
      if (ch) {
        for (const k of Object.keys(ch)) {
          if (Array.isArray(ch[k])) tokens(ch[k]); // tokens: always secret
          else if (fields.has(`channels.${k}`)) slot(ch, k, true);
        }
      }
      return out;
    }
    case 'profile.update':
      for (const ch of c.changes as Record<string, unknown>[]) {
        if (!fields.has(ch.field as string)) continue;
        slot(ch, 'after', true);
        if (ch.before !== undefined) slot(ch, 'before', false);
      }
      return out;
    case 'channel.set':
      if (Array.isArray(c.value)) tokens(c.value);
      else if (op.sensitive) slot(c, 'value', true);
      if (op.sensitive && hasBefore) slot(c, 'before', false);
      return out;
    case 'channel.delete':
      if (Array.isArray(c.tokens)) c.tokens.forEach((_, i) => slot(c.tokens, i, true));
      if (op.sensitive && hasBefore) slot(c, 'before', false);
      return out;
    case 'property.set':
    case 'property.set_once':
    case 'property.append':
    case 'property.remove':
      if (op.sensitive) slot(c, 'value', true);
      if (op.sensitive && hasBefore) slot(c, 'before', false);
      return out;
    case 'property.unset':
      if (op.sensitive && hasBefore) slot(c, 'before', false);
      return out;
    case 'profile.merge':
    case 'profile.delete':
    case 'preference.set':
    // The loader refuses `${VAR}` in a suppression's identifier: nothing to mask.
    case 'suppression.add':
    case 'suppression.remove':
      return out;
    default:
      return assertNever(op);
  }
}

/**
 * Operations that can hold a secret: a sensitive one, or one that can carry tokens. Any other is
 * written as is (`redactOperation`), so it holds no placeholder either.
 */
function maySecrets(op: Operation): boolean {
  if (isSuppressionOp(op)) return false;
  return op.sensitive === true || op.type === 'channel.set' || op.type === 'channel.delete' || op.type === 'profile.create';
}

/** True when the operation carries any value that must be masked. */
export function hasSecrets(op: Operation): boolean {
  if (!maySecrets(op)) return false;
  // Read where the secrets are, without the copy mapSecrets makes (every create of a 100,000-profile plan, issue #17).
  return secretSlots(op).length > 0;
}

/**
 * Every secret value the operations carry (a list value's elements one by one), as text: what a
 * dry run masks wherever it appears in a request.
 */
export function secretValuesOf(operations: Iterable<Operation>): string[] {
  const out = new Set<string>();
  const add = (x: unknown): void => {
    if (typeof x === 'string' || typeof x === 'number') out.add(String(x));
  };
  for (const op of operations) {
    if (!maySecrets(op)) continue;
    mapSecrets(op, (v) => {
      if (Array.isArray(v)) v.forEach(add);
      else if (!isSecretRef(v)) add(v);
      return v;
    });
  }
  return [...out];
}

/** The operation with every secret replaced by its placeholder. */
export function redactOperation(op: Operation): Operation {
  if (!maySecrets(op)) return op;
  return mapSecrets(op, (v) => (isSecretRef(v) ? v : { $secret: secretHash(opSubject(op), v) }));
}

/** The plan as it may be written to disk or printed: secrets replaced by placeholders. */
export function redactPlan(plan: Plan): Plan {
  return { ...plan, operations: plan.operations.map(redactOperation) };
}

/** Values a plan's secrets may be, per distinct_id (or one list for every profile). */
export type SecretCandidates = ReadonlyMap<DistinctId, readonly unknown[]> | readonly unknown[];

/**
 * Every channel value, token, name/timezone and property value (whole lists, their unique form
 * and each element) of the desired profiles and the live snapshots, keyed by distinct_id —
 * the values apply passes to `resolveSecrets`.
 */
export function collectSecretCandidates(
  desired: DesiredState,
  actual: ReadonlyMap<DistinctId, ActualSnapshot>,
  /** Only these profiles (those whose operations hold placeholders); default every one. */
  only?: ReadonlySet<DistinctId>,
): Map<DistinctId, unknown[]> {
  const out = new Map<DistinctId, unknown[]>();
  const addValue = (list: unknown[], v: PropertyValue): void => {
    list.push(v);
    if (Array.isArray(v)) list.push(uniqueScalars(v), ...v);
  };
  for (const d of desired.profiles) {
    if (only && !only.has(d.distinct_id)) continue;
    const list: unknown[] = [];
    for (const v of [d.name, d.status, d.timezone]) if (v !== undefined) list.push(v);
    for (const v of Object.values(d.channels ?? {})) {
      if (typeof v === 'string') list.push(v);
      else if (Array.isArray(v)) list.push(...v.map((t) => t.token));
    }
    for (const p of Object.values(d.properties ?? {})) if (p.op !== 'unset') addValue(list, p.value);
    const live = actual.get(d.distinct_id)?.profile;
    for (const id of [d.distinct_id, ...d.merge_from]) {
      const prof = id === d.distinct_id ? live : actual.get(id)?.profile;
      if (!prof) continue;
      for (const v of [prof.name, prof.status, prof.timezone]) if (v !== undefined) list.push(v);
      for (const v of Object.values(prof.channels)) {
        if (typeof v === 'string') list.push(v);
        else if (Array.isArray(v)) list.push(...v.map((t) => t.token));
      }
      for (const v of Object.values(prof.properties)) addValue(list, v);
    }
    out.set(d.distinct_id, list);
  }
  return out;
}

export interface ResolveOptions {
  /** Operations (by index) not to resolve: those an earlier run completed keep their placeholders. */
  skip?: (index: number) => boolean;
}

export interface Resolved {
  plan: Plan;
  /**
   * Indexes of removals already in effect: a token to delete, or a list value to remove, whose
   * placeholder matches no value of the live profile (nor of the desired one) is not there, so
   * removing it is done. Its operation keeps only the values still present; when none is left
   * it is listed here (apply records it done without a request).
   */
  satisfied: number[];
}

/**
 * Replaces the placeholders of a parsed plan by the values they stand for. A placeholder in a
 * `before` (information only) that matches nothing is dropped, and so is a removal's value that
 * is no longer live (`Resolved.satisfied`); any other unresolved placeholder is an error naming
 * the operations, e.g. because `${VAR}` changed since the plan was made.
 */
export function resolvePlanSecrets(plan: Plan, candidates: SecretCandidates, o: ResolveOptions = {}): Resolved {
  // Each profile's candidates are hashed as far as needed to find a placeholder, not all at once
  // (a token is found among a profile's first few values; issue #17). Values of one hash have one
  // stable JSON text: whichever of them is found is the same value on the wire.
  const cache = new Map<DistinctId, { list: readonly unknown[]; next: number; byHash: Map<string, unknown> }>();
  const find = (id: DistinctId, h: string): unknown => {
    let c = cache.get(id);
    if (!c) {
      const list = Array.isArray(candidates) ? candidates : ((candidates as ReadonlyMap<DistinctId, readonly unknown[]>).get(id) ?? []);
      c = { list, next: 0, byHash: new Map() };
      cache.set(id, c);
    }
    if (c.byHash.has(h)) return c.byHash.get(h);
    while (c.next < c.list.length) {
      const v = c.list[c.next++];
      const k = secretHash(id, v);
      if (!c.byHash.has(k)) c.byHash.set(k, v);
      if (k === h) return v;
    }
    return undefined;
  };
  const unresolved: string[] = [];
  const satisfied: number[] = [];
  const DROP = Symbol('drop');
  const operations = plan.operations.map((op, i) => {
    // An operation without placeholders is kept as it is (not copied: a plan may hold millions).
    if (!maySecrets(op) || o.skip?.(i)) return op;
    let missing = false;
    let placeholders = false;
    // A value to remove that is nowhere (not live, not desired) is already removed.
    const removal = op.type === 'channel.delete' || op.type === 'property.remove';
    const resolved = mapSecrets(op, (v, required) => {
      if (!isSecretRef(v)) return v;
      placeholders = true;
      const hit = find(opSubject(op), v.$secret);
      if (hit !== undefined) return hit;
      if (required && !removal) missing = true;
      return required && !removal ? v : DROP;
    });
    const r = resolved as unknown as Record<string, unknown>;
    if (r.before === DROP) delete r.before;
    if (op.type === 'profile.update') {
      for (const ch of r.changes as Record<string, unknown>[]) if (ch.before === DROP) delete ch.before;
    }
    if (op.type === 'channel.delete' && Array.isArray(r.tokens)) {
      r.tokens = (r.tokens as unknown[]).filter((t) => t !== DROP);
      if ((r.tokens as unknown[]).length === 0) satisfied.push(i);
    }
    if (op.type === 'property.remove' && r.value === DROP) {
      r.value = op.value;
      satisfied.push(i);
    }
    if (missing) unresolved.push(`#${i + 1} ${op.type} ${opSubject(op)}`);
    return placeholders ? resolved : op;
  });
  if (unresolved.length > 0) {
    throw new FynoSyncError(
      'plan.invalid',
      `cannot resolve the secret values of ${unresolved.length} operation(s) (${unresolved.slice(0, 5).join(', ')}${unresolved.length > 5 ? ', …' : ''}); re-run plan with the same environment`,
      { operations: unresolved },
    );
  }
  return { plan: { ...plan, operations }, satisfied };
}

/** `resolvePlanSecrets` of every operation, for a plan that has no removal already in effect. */
export function resolveSecrets(plan: Plan, candidates: SecretCandidates): Plan {
  return resolvePlanSecrets(plan, candidates).plan;
}
