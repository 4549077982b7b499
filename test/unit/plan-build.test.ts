import { describe, expect, it } from 'vitest';
import { isFynoSyncError } from '../../src/errors.js';
import { buildPlan } from '../../src/plan/build.js';
import { fingerprintSnapshot } from '../../src/plan/fingerprint.js';
import { parsePlan, serializePlan } from '../../src/plan/plan-file.js';
import { collectSecretCandidates, resolveSecrets } from '../../src/plan/secrets.js';
import { profileIdOf, type Plan } from '../../src/plan/types.js';
import { actual, CREATED_AT, desired, live, prefs, profile, TARGET, topic } from './plan-builders.js';

const SECRET_TOKEN = 'ExponentPushToken[s3cr3t-d3v1c3-t0k3n]';
const SECRET_EMAIL = 'vault-only@example.com';

function samplePlan(): { plan: Plan; d: ReturnType<typeof desired>; a: ReturnType<typeof actual> } {
  const d = desired(
    profile('new-1', { name: 'New', channels: { email: SECRET_EMAIL, push: [{ token: SECRET_TOKEN, integration_id: 'I1' }] }, sensitive: ['channels.email'] }),
    profile('upd-1', { name: 'Changed', properties: { tags: { op: 'set', value: ['a', 'b'] } } }),
    profile('same-1', { name: 'Same' }),
    profile('tgt-1', { merge_from: ['lead-1'] }),
    profile('gone-1', { state: 'absent' }),
    profile('gone-2', { state: 'absent' }),
  );
  const a = actual(
    ['new-1', null],
    ['upd-1', live('upd-1', { name: 'Old', properties: { tags: ['a'] } })],
    ['same-1', live('same-1', { name: 'Same' }), prefs([topic('S1')])],
    ['tgt-1', live('tgt-1')],
    ['lead-1', live('lead-1')],
    ['gone-1', live('gone-1')],
    ['gone-2', null],
  );
  return { plan: buildPlan(d, a, { createdAt: CREATED_AT, target: TARGET, sources: d.files }), d, a };
}

describe('buildPlan', () => {
  it('counts each profile once by its most significant action', () => {
    const { plan } = samplePlan();
    expect(plan.summary).toEqual({
      create: 1,
      update: 1,
      merge: 1,
      delete: 1,
      unchanged: 2,
      operations: 5,
      by_type: { 'profile.create': 1, 'profile.delete': 1, 'profile.merge': 1, 'profile.update': 1, 'property.append': 1 },
    });
  });

  it('records a fingerprint for every profile read, merge sources included, absent ones as "absent"', () => {
    const { plan, a } = samplePlan();
    expect(Object.keys(plan.preconditions)).toEqual(['gone-1', 'gone-2', 'lead-1', 'new-1', 'same-1', 'tgt-1', 'upd-1']);
    expect(plan.preconditions['new-1']).toBe('absent');
    expect(plan.preconditions['lead-1']).toBe(fingerprintSnapshot(a.get('lead-1')));
    expect(plan.preconditions['same-1']).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('is deterministic and JSON-safe: JSON round trip deep-equals the plan', () => {
    const first = samplePlan().plan;
    expect(samplePlan().plan).toEqual(first);
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
    expect(first.created_at).toBe(CREATED_AT);
    expect(first.format_version).toBe(1);
  });

  it('records the scope and plans only the selected profiles', () => {
    const { d, a } = samplePlan();
    const plan = buildPlan(d, a, { createdAt: CREATED_AT, target: TARGET, sources: d.files, select: { target: ['upd-*'] }, scope: { target: ['upd-*'], skipped: 5 } });
    expect(plan.operations.every((o) => profileIdOf(o) === 'upd-1')).toBe(true);
    expect(plan.summary.update + plan.summary.unchanged).toBe(1);
    expect(plan.scope).toEqual({ target: ['upd-*'], skipped: 5 });
    expect(Object.keys(plan.preconditions)).toEqual(['upd-1']);
  });

  it('fingerprints ignore server-managed fields and list order, but see real changes', () => {
    const base = live('x', { properties: { tags: ['a', 'b'] }, channels: { push: [{ token: 't1' }, { token: 't2' }] } });
    const fp = fingerprintSnapshot({ profile: base });
    expect(fingerprintSnapshot({ profile: { ...base, server: { updated_at: 'later' }, properties: { tags: ['b', 'a'] } } })).toBe(
      fingerprintSnapshot({ profile: { ...base, channels: { push: [{ token: 't2' }, { token: 't1' }] } } }),
    );
    expect(fingerprintSnapshot({ profile: { ...base, name: 'n' } })).not.toBe(fp);
  });
});

describe('plan files', () => {
  it('serializes byte-stably and parses back to the redacted plan', () => {
    const { plan } = samplePlan();
    const text = serializePlan(plan);
    expect(serializePlan(samplePlan().plan)).toBe(text);
    const parsed = parsePlan(text, 'plan.json');
    expect(JSON.parse(text)).toEqual(parsed);
    expect(parsed.summary).toEqual(plan.summary);
    expect(parsed.operations).toHaveLength(plan.operations.length);
    expect(text.startsWith('{\n  "format_version": 1,\n  "created_at"')).toBe(true);
  });

  it('never writes a token or an env-sourced value, and apply can resolve them again', () => {
    const { plan, d, a } = samplePlan();
    const text = serializePlan(plan);
    expect(text).not.toContain(SECRET_TOKEN);
    expect(text).not.toContain(SECRET_EMAIL);
    expect(text).toContain('"$secret":"sha256:');
    const resolved = resolveSecrets(parsePlan(text, 'plan.json'), collectSecretCandidates(d, a));
    expect(resolved.operations).toEqual(plan.operations);
  });

  it('serializes an empty plan that parses', () => {
    const plan = buildPlan(desired(), actual(), { createdAt: CREATED_AT, target: TARGET, sources: [] });
    expect(parsePlan(serializePlan(plan), 'p.json')).toEqual(plan);
  });

  const valid = (): Record<string, unknown> => JSON.parse(serializePlan(samplePlan().plan)) as Record<string, unknown>;
  it.each<[string, () => string, string]>([
    ['not JSON', () => '{"format_version": 1,', 'p.json: not a plan file: invalid JSON'],
    ['an array', () => '[]', 'p.json: not a plan file: expected a JSON object'],
    ['another format_version', () => JSON.stringify({ ...valid(), format_version: 2 }), 'p.json: unsupported plan: format_version 2; this fyno-sync reads format_version 1'],
    ['no format_version', () => JSON.stringify({ operations: [] }), 'p.json: unsupported plan: no format_version'],
    ['a missing summary', () => JSON.stringify({ ...valid(), summary: undefined }), "p.json: invalid plan: the plan must have required property 'summary'"],
    [
      'an unknown operation type',
      () => {
        const v = valid();
        (v.operations as Record<string, unknown>[])[0]!.type = 'profile.explode';
        return JSON.stringify(v);
      },
      'p.json: invalid plan: /operations/0/type must be equal to one of the allowed values',
    ],
    [
      'a wrongly typed field',
      () => {
        const v = valid();
        (v.operations as Record<string, unknown>[])[0]!.idempotent = 'yes';
        return JSON.stringify(v);
      },
      'p.json: invalid plan: /operations/0/idempotent must be boolean',
    ],
    [
      'an unknown key in an operation',
      () => {
        const v = valid();
        (v.operations as Record<string, unknown>[])[1]!.surprise = 1;
        return JSON.stringify(v);
      },
      'p.json: invalid plan: /operations/1: unknown key "surprise"',
    ],
  ])('rejects %s with one plain line', (_what, text, message) => {
    let err: unknown;
    try {
      parsePlan(text(), 'p.json');
    } catch (e) {
      err = e;
    }
    expect(isFynoSyncError(err)).toBe(true);
    const e = err as Error & { code: string };
    expect(e.code).toBe('plan.invalid');
    expect(e.message.startsWith(message)).toBe(true);
    expect(e.message).not.toContain('\n');
  });
});
