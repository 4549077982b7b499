/**
 * `hasSecrets` reads where an operation's secrets are without copying it (issue #17: every create
 * of a 100,000-profile saved plan is asked). Its answers, and the redaction and resolution made
 * from the same walk, must be those of the implementation before, kept here as the reference.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/build.js';
import { hasSecrets, isSecretRef, redactOperation, resolveSecrets, secretHash, secretValuesOf } from '../../src/plan/secrets.js';
import { isSuppressionOp, opSubject, type Operation } from '../../src/plan/types.js';
import type { DesiredProperty } from '../../src/desired/types.js';
import type { Token } from '../../src/fyno/types.js';
import { actual, CREATED_AT, desired, live, profile, TARGET } from './plan-builders.js';

/** mapSecrets before issue #17, verbatim but for the unreachable default. */
function referenceMap(op: Operation, f: (v: unknown, required: boolean) => unknown): Operation {
  const tokens = (ts: unknown): unknown => (Array.isArray(ts) ? ts.map((t: Token) => ({ ...t, token: f(t.token, true) })) : ts);
  const copy = structuredClone(op);
  const c = copy as unknown as Record<string, unknown>;
  const hasBefore = 'before' in c && c.before !== undefined;
  const fields = new Set(isSuppressionOp(op) ? [] : (op.sensitive_fields ?? []));
  switch (op.type) {
    case 'profile.create': {
      const p = c.profile as Record<string, unknown>;
      const ch = p.channels as Record<string, unknown> | undefined;
      for (const f2 of ['name', 'status', 'timezone']) if (fields.has(f2) && p[f2] !== undefined) p[f2] = f(p[f2], true);
      if (ch) {
        for (const k of Object.keys(ch)) {
          if (Array.isArray(ch[k])) ch[k] = tokens(ch[k]);
          else if (fields.has(`channels.${k}`)) ch[k] = f(ch[k], true);
        }
      }
      return copy;
    }
    case 'profile.update':
      for (const ch of c.changes as Record<string, unknown>[]) {
        if (!fields.has(ch.field as string)) continue;
        ch.after = f(ch.after, true);
        if (ch.before !== undefined) ch.before = f(ch.before, false);
      }
      return copy;
    case 'channel.set':
      if (Array.isArray(c.value)) c.value = tokens(c.value);
      else if (op.sensitive) c.value = f(c.value, true);
      if (op.sensitive && hasBefore) c.before = f(c.before, false);
      return copy;
    case 'channel.delete':
      if (Array.isArray(c.tokens)) c.tokens = c.tokens.map((t) => f(t, true));
      if (op.sensitive && hasBefore) c.before = f(c.before, false);
      return copy;
    case 'property.set':
    case 'property.set_once':
    case 'property.append':
    case 'property.remove':
      if (op.sensitive) c.value = f(c.value, true);
      if (op.sensitive && hasBefore) c.before = f(c.before, false);
      return copy;
    case 'property.unset':
      if (op.sensitive && hasBefore) c.before = f(c.before, false);
      return copy;
    default:
      return copy;
  }
}

const maySecrets = (op: Operation): boolean => !isSuppressionOp(op) && (op.sensitive === true || op.type === 'channel.set' || op.type === 'channel.delete' || op.type === 'profile.create');
function referenceHas(op: Operation): boolean {
  if (!maySecrets(op)) return false;
  let found = false;
  referenceMap(op, (v) => ((found = true), v));
  return found;
}
const referenceRedact = (op: Operation): Operation => (maySecrets(op) ? referenceMap(op, (v) => (isSecretRef(v) ? v : { $secret: secretHash(opSubject(op), v) })) : op);

const word = fc.stringMatching(/^[a-z]{1,6}$/);
const value = fc.oneof(word, fc.integer(), fc.array(word, { maxLength: 3 }));
const entry = fc.record({
  exists: fc.boolean(),
  name: fc.option(word, { nil: undefined }),
  email: fc.option(word.map((w) => `${w}@example.com`), { nil: undefined }),
  tokens: fc.array(word, { maxLength: 2 }),
  liveTokens: fc.array(word, { maxLength: 2 }),
  properties: fc.dictionary(fc.constantFrom('plan', 'seats', 'tags'), value, { maxKeys: 3 }),
  old: fc.dictionary(fc.constantFrom('plan', 'seats', 'tags'), value, { maxKeys: 3 }),
  sensitive: fc.subarray(['name', 'channels.email', 'properties.plan', 'properties.tags']),
});

type Entry = typeof entry extends fc.Arbitrary<infer T> ? T : never;

function opsOf(entries: Entry[]): Operation[] {
  const made = entries.map((e, i) => {
    const id = `u-${i}`;
    const properties = Object.fromEntries(Object.entries(e.properties).map(([k, v]): [string, DesiredProperty] => [k, { op: 'set', value: v } as DesiredProperty]));
    const channels = { ...(e.email ? { email: e.email } : {}), ...(e.tokens.length > 0 ? { push: e.tokens.map((token) => ({ token, integration_id: 'I1' })) } : {}) };
    const d = profile(id, { ...(e.name ? { name: e.name } : {}), channels, properties, sensitive: e.sensitive });
    const l = e.exists ? live(id, { name: 'Old', channels: { email: 'old@example.com', ...(e.liveTokens.length > 0 ? { push: e.liveTokens.map((token) => ({ token, integration_id: 'I1', status: 1 as const })) } : {}) }, properties: e.old }) : null;
    return { d, l };
  });
  const d = desired(...made.map((m) => m.d));
  const plan = buildPlan(d, actual(...made.map((m): [string, ReturnType<typeof live> | null] => [m.d.distinct_id, m.l])), { createdAt: CREATED_AT, target: TARGET, sources: d.files });
  return [...plan.operations];
}

describe('where an operation holds secrets', () => {
  it('hasSecrets, redaction, the values masked and resolution are those of the copying walk', () => {
    let withSecrets = 0;
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), (entries) => {
        const ops = opsOf(entries);
        for (const op of ops) {
          const before = structuredClone(op);
          expect(hasSecrets(op)).toBe(referenceHas(op));
          const redacted = redactOperation(op);
          expect(redacted).toEqual(referenceRedact(op));
          expect(hasSecrets(redacted)).toBe(referenceHas(redacted));
          expect(op).toEqual(before);
          if (hasSecrets(op)) withSecrets += 1;
        }
        expect(secretValuesOf(ops)).toEqual(secretValuesOf(ops.map((op) => referenceMap(op, (v) => v))));
        const plan = { format_version: 1 as const, created_at: CREATED_AT, target: TARGET, sources: [], summary: {} as never, issues: [], preconditions: {}, operations: ops.map(redactOperation) };
        const candidates = ops.flatMap((op) => {
          const values: unknown[] = [];
          referenceMap(op, (v) => (values.push(v), v));
          return values;
        });
        expect(resolveSecrets(plan, candidates).operations).toEqual(ops);
      }),
      { numRuns: 300 },
    );
    expect(withSecrets).toBeGreaterThan(50);
  });
});
