/**
 * `plan.profiles` (issue #19): exact JSON Patches for small cases a reviewer can check by eye.
 * The randomized check against the emulator is test/property/plan-convergence.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/build.js';
import { packedDrift } from '../../src/plan/document.js';
import { parsePlan, serializePlan } from '../../src/plan/plan-file.js';
import { secretHash } from '../../src/plan/secrets.js';
import { actual, AT, CREATED_AT, desired, live, prefs, profile, set, TARGET, topic } from './plan-builders.js';

const TOKEN_A = 'ExponentPushToken[aaaaaaaaaaaaaaaa]';
const TOKEN_B = 'ExponentPushToken[bbbbbbbbbbbbbbbb]';

function plan(d: ReturnType<typeof desired>, a: ReturnType<typeof actual>) {
  return buildPlan(d, a, { createdAt: CREATED_AT, target: TARGET, sources: d.files });
}

describe('plan.profiles', () => {
  it('names only what changes: an equal phone, date, token set and list give no entry', () => {
    const d = desired(
      profile('u1', {
        name: 'New',
        channels: { sms: '+919812345678', push: [{ token: TOKEN_B }, { token: TOKEN_A }] },
        properties: { signup: set('2024-03-01'), tags: set(['b', 'a']), plan: set('pro') },
        preferences: { S1: { email: 'opted-out' } },
      }),
    );
    const a = actual([
      'u1',
      live('u1', {
        name: 'Old',
        channels: { sms: '+91 98123 45678', push: [{ token: TOKEN_A, status: 1 }, { token: TOKEN_B, status: 1 }] },
        properties: { signup: '2024-03-01T00:00:00.000Z', tags: ['a', 'b'], plan: 'basic' },
      }),
      prefs([topic('S1')]),
    ]);
    expect(plan(d, a).profiles).toEqual({
      u1: {
        patch: [
          { op: 'replace', path: '/name', value: 'New' },
          { op: 'replace', path: '/preferences/S1/email', value: 'opted-out' },
          { op: 'replace', path: '/properties/plan', value: 'pro' },
        ],
      },
    });
  });

  it('replaces a list (a set in Fyno) as a whole, never by position', () => {
    const d = desired(profile('u1', { properties: { tags: set(['a', 'c', 'd']) } }));
    const a = actual(['u1', live('u1', { properties: { tags: ['d', 'b', 'a'] } })]);
    expect(plan(d, a).profiles).toEqual({ u1: { patch: [{ op: 'replace', path: '/properties/tags', value: ['a', 'c', 'd'] }] } });
  });

  it('masks ${VAR} values and tokens with the placeholders of the operations', () => {
    const d = desired(profile('u1', { name: 'Secret Name', sensitive: ['name'], channels: { push: [{ token: TOKEN_A, integration_id: 'I1' }] } }));
    const p = plan(d, actual(['u1', live('u1', { name: 'Old Secret' })]));
    expect(p.profiles).toEqual({
      u1: {
        patch: [
          { op: 'add', path: '/channels/push', value: [{ token: { $secret: secretHash('u1', TOKEN_A) }, integration_id: 'I1' }] },
          { op: 'replace', path: '/name', value: { $secret: secretHash('u1', 'Secret Name') } },
        ],
      },
    });
    const text = serializePlan(p);
    for (const secret of ['Secret Name', 'Old Secret', TOKEN_A]) expect(text).not.toContain(secret);
    // The same placeholder as the operation's.
    expect(text.split(secretHash('u1', 'Secret Name')).length).toBe(3);
    expect(parsePlan(text, 'p.json').profiles).toEqual(p.profiles);
  });

  it('adds a created profile at the root, removes a deleted one and a merge source', () => {
    const d = desired(
      profile('new-1', { name: 'N', properties: { plan: set('pro') } }),
      profile('gone-1', { state: 'absent' }),
      profile('keep-1', { merge_from: ['lead-1'] }),
    );
    const a = actual(['new-1', null], ['gone-1', live('gone-1')], ['keep-1', live('keep-1', { name: 'K' })], ['lead-1', live('lead-1', { name: 'L', channels: { email: 'l@example.com' } })]);
    expect(plan(d, a).profiles).toEqual({
      'gone-1': { patch: [{ op: 'remove', path: '' }] },
      // The target as the planner predicts the merge: its own fields win, the source fills gaps.
      'keep-1': { patch: [{ op: 'add', path: '/channels/email', value: 'l@example.com' }] },
      'lead-1': { patch: [{ op: 'remove', path: '' }] },
      'new-1': { patch: [{ op: 'add', path: '', value: { distinct_id: 'new-1', name: 'N', status: 'active', channels: {}, properties: { plan: 'pro' } } }] },
    });
  });

  it('has no entry for an unchanged profile, nor for one whose changes are issues', () => {
    const d = desired(
      profile('same', { name: 'S', channels: { email: 'S@Example.COM' } }),
      profile('blocked', { preferences: { S1: { sms: 'opted-out' } }, at: AT }),
    );
    const a = actual(['same', live('same', { name: 'S', channels: { email: 'S@example.com' } })], ['blocked', live('blocked'), prefs([topic('S1', {}, { sms: 'required' })])]);
    const p = plan(d, a);
    expect(p.issues).toHaveLength(1);
    expect(p.profiles).toEqual({});
  });

  it('keys named like Object members (constructor, toString) are data in the patch too', () => {
    const d = desired(profile('u1', { properties: { constructor: { op: 'once' as const, value: 'x' }, toString: set(['a']) } }));
    const a = actual(['u1', live('u1', { properties: { hasOwnProperty: 1 } })]);
    expect(plan(d, a).profiles).toEqual({
      u1: {
        patch: [
          { op: 'add', path: '/properties/constructor', value: 'x' },
          { op: 'add', path: '/properties/toString', value: ['a'] },
        ],
      },
    });
  });
});

describe('a drift kept as text (issue #17, memory)', () => {
  it('reads, serializes and saves as the drift it was made from', () => {
    const d = desired(profile('cust-1', { name: 'Zoë', properties: { plan: set('pro') } }), profile('cust-2', { state: 'absent' }));
    const plan = buildPlan(d, actual(['cust-1', null], ['cust-2', live('cust-2')]), { createdAt: CREATED_AT, target: TARGET, sources: d.files });
    const packed = { ...plan, profiles: Object.fromEntries(Object.entries(plan.profiles!).map(([id, x]) => [id, packedDrift(x)])) };
    expect(Object.keys(packed.profiles['cust-1']!)).toEqual(['patch']);
    expect(packed.profiles).toEqual(plan.profiles);
    expect(JSON.stringify(packed.profiles)).toBe(JSON.stringify(plan.profiles));
    expect(serializePlan(packed)).toBe(serializePlan(plan));
    // Each read is a copy: a reader cannot change the plan.
    packed.profiles['cust-1']!.patch.push({ op: 'remove', path: '/name' });
    expect(packed.profiles['cust-1']!.patch).toEqual(plan.profiles!['cust-1']!.patch);
  });
});
